/**
 * The drawing libraries of the report pages, served by the monitor from its own node_modules
 * (`/vendor/*`, no CDN) and loaded only when a report page opens, so the other pages stay light.
 * Only the few calls the pages make are declared here.
 */

/** An ECharts instance. */
export interface EChart {
  setOption(option: unknown, opts?: { notMerge?: boolean }): void;
  resize(): void;
  getWidth(): number;
  getHeight(): number;
  dispose(): void;
}

interface EChartsGlobal {
  init(el: HTMLElement, theme?: string | null, opts?: { renderer?: 'svg' | 'canvas' }): EChart;
  registerMap(name: string, geoJson: unknown): void;
}

interface MarkdownIt {
  render(text: string): string;
}

declare global {
  interface Window {
    echarts?: EChartsGlobal;
    markdownit?: (opts: { html: boolean; linkify: boolean; typographer: boolean }) => MarkdownIt;
  }
}

const loading = new Map<string, Promise<void>>();

function script(src: string): Promise<void> {
  let p = loading.get(src);
  if (!p) {
    p = new Promise<void>((resolve, reject) => {
      const s = document.createElement('script');
      s.src = src;
      s.onload = () => resolve();
      s.onerror = () => reject(new Error(`cannot load ${src}`));
      document.head.appendChild(s);
    });
    loading.set(src, p);
  }
  return p;
}

/** Name the land base map is registered under (the server's option builder uses the same). */
export const LAND_MAP = 'tributary-land';
let land: Promise<void> | undefined;

/** ECharts, with the land base map registered when `withMap`. */
export async function echartsLib(withMap: boolean): Promise<EChartsGlobal> {
  await script('/vendor/echarts.js');
  const lib = window.echarts!;
  if (withMap)
    await (land ??= fetch('/vendor/land.json')
      .then((r) => r.json())
      .then((g: unknown) => lib.registerMap(LAND_MAP, g)));
  return lib;
}

/** A Markdown renderer with raw HTML off: report text cannot inject markup. */
export async function markdown(): Promise<MarkdownIt> {
  await script('/vendor/markdown-it.js');
  return window.markdownit!({ html: false, linkify: true, typographer: true });
}
