/**
 * Report pages in headless Chromium for the `report` and `report-load` scenarios: opens
 * `/reports/<name>` of the monitor and reads, inside the page, when it painted and when every
 * tile showed its data. Times are milliseconds from the navigation's start (the page's
 * `performance.timeOrigin`):
 *
 * - `fcp`: first-contentful-paint (the Paint Timing entry);
 * - `tiles`: the report's tiles are in the page (its parts came from `/api/reports/<name>`);
 * - `firstData`: the first tile has drawn its rows;
 * - `allData`: the last tile has drawn its rows (`data-rows` set on every `.report-tile`, which the
 *   page does right after a tile's table, number or chart option is in place), taken at the next
 *   frame after that, i.e. once the browser could paint it. Charts then animate in (ECharts' default).
 */
import { launchChromiumServer } from '@tributary/testkit';
import { chromium, type Browser, type BrowserContext, type BrowserServer, type Page } from 'playwright-core';

/** When a page reached each point, ms from navigation start. */
export interface PageMarks {
  fcp: number;
  tiles: number;
  firstData: number;
  allData: number;
  /** Tiles on the page. */
  tileCount: number;
  /** Runs of the page's queries (data requests answered) by then: 1 unless an overview changed the data version meanwhile. */
  refreshes: number;
}

/**
 * Installed in every page before its own scripts: records the marks on `window.__benchMarks` and
 * counts the report's refreshes (`data-refreshed` changes: a live update re-ran queries).
 */
const MARKS_SCRIPT = `(() => {
  const marks = { refreshes: 0 };
  Object.defineProperty(window, '__benchMarks', { value: marks });
  const check = () => {
    const tiles = document.querySelectorAll('.report-tile');
    if (tiles.length === 0) return;
    marks.tileCount = tiles.length;
    if (marks.tiles === undefined) marks.tiles = performance.now();
    const failed = document.querySelector('.report-tile.failed');
    if (failed && marks.failed === undefined) marks.failed = failed.textContent;
    if (marks.firstData === undefined && document.querySelector('.report-tile[data-rows]')) marks.firstData = performance.now();
    if (marks.allDataSet === undefined && !document.querySelector('.report-tile:not([data-rows])')) {
      marks.allDataSet = performance.now();
      requestAnimationFrame(() => setTimeout(() => (marks.allData = performance.now()), 0));
    }
  };
  new MutationObserver((records) => {
    for (const r of records) if (r.type === 'attributes' && r.attributeName === 'data-refreshed') marks.refreshes++;
    check();
  }).observe(document, { subtree: true, childList: true, attributes: true, attributeFilter: ['data-rows', 'class', 'data-refreshed'] });
})();`;

interface RawMarks {
  fcp?: number;
  tiles?: number;
  firstData?: number;
  allData?: number;
  tileCount?: number;
  failed?: string;
  refreshes: number;
}

/** Headless Chromium with its process id (for its CPU time). */
export class ReportBrowser {
  private constructor(
    private readonly server: BrowserServer,
    readonly browser: Browser,
  ) {}

  static async launch(): Promise<ReportBrowser> {
    const server = await launchChromiumServer();
    return new ReportBrowser(server, await chromium.connect(server.wsEndpoint()));
  }

  /** The browser's main process (its renderers are under it). */
  get pid(): number {
    return this.server.process().pid!;
  }

  /** A fresh profile: empty HTTP cache, no cookies. */
  newContext(): Promise<BrowserContext> {
    return this.browser.newContext({ viewport: { width: 1400, height: 1000 } });
  }

  async close(): Promise<void> {
    await this.browser.close().catch(() => undefined);
    await this.server.close();
  }
}

/** Reads the marks of a page (Runtime.callFunctionOn: not an eval, so the monitor's CSP allows it). */
async function readMarks(page: Page): Promise<RawMarks> {
  return page.evaluate(() => {
    const g = globalThis as unknown as { __benchMarks?: RawMarks; performance: { getEntriesByName(n: string): { startTime: number }[] } };
    const fcp = g.performance.getEntriesByName('first-contentful-paint')[0]?.startTime;
    return { ...(g.__benchMarks ?? { refreshes: 0 }), fcp };
  });
}

/** Opens `url` in a new page of `context` and waits until every tile shows its data; the page stays open. */
export async function openReport(context: BrowserContext, url: string, timeoutMs = 120_000): Promise<{ page: Page; marks: PageMarks }> {
  const page = await context.newPage();
  await page.addInitScript({ content: MARKS_SCRIPT });
  await page.goto(url, { waitUntil: 'commit' });
  const end = Date.now() + timeoutMs;
  for (;;) {
    const m = await readMarks(page);
    if (m.failed !== undefined) throw new Error(`report page ${url}: a tile failed: ${m.failed}`);
    if (m.allData !== undefined && m.fcp !== undefined) {
      return {
        page,
        marks: {
          fcp: m.fcp,
          tiles: m.tiles!,
          firstData: m.firstData!,
          allData: m.allData,
          tileCount: m.tileCount!,
          refreshes: m.refreshes,
        },
      };
    }
    if (Date.now() > end) throw new Error(`report page ${url}: not every tile showed data within ${timeoutMs} ms (${JSON.stringify(m)})`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** How many times each page's report refreshed since it opened (live updates). */
export async function refreshCounts(pages: Page[]): Promise<number[]> {
  return Promise.all(pages.map(async (p) => (await readMarks(p)).refreshes));
}
