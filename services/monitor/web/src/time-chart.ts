/**
 * Time-series charts with uPlot (loaded as its browser build): one per container, resized with
 * the container, updated in place as new data arrives. Colours come from the page's CSS
 * variables so charts follow the light and dark schemes.
 */

/** One line of a chart. */
export interface LineSpec {
  label: string;
  /** A CSS variable name (`--accent`) or a colour. */
  color: string;
  dash?: number[];
}

/** A live chart. */
export interface TimeChart {
  update(t: number[], ys: (number | null)[][]): void;
  destroy(): void;
}

const cssColor = (c: string): string => (c.startsWith('--') ? getComputedStyle(document.documentElement).getPropertyValue(c).trim() : c);

/** Creates a chart in `container`; `format` renders y values in the legend and axis. */
export function timeChart(container: HTMLElement, lines: LineSpec[], format: (v: number) => string): TimeChart {
  const axisColor = cssColor('--muted');
  const gridColor = cssColor('--border');
  const width = (): number => Math.max(280, container.clientWidth);
  const opts: uPlot.Options = {
    width: width(),
    height: 230,
    cursor: { drag: { x: false, y: false } },
    legend: { live: true },
    scales: { x: { time: true }, y: { range: (_u, _min, max) => [0, max > 0 ? max * 1.1 : 1] } },
    axes: [
      { stroke: axisColor, grid: { stroke: gridColor, width: 1 }, ticks: { stroke: gridColor } },
      {
        stroke: axisColor,
        grid: { stroke: gridColor, width: 1 },
        ticks: { stroke: gridColor },
        size: 64,
        values: (_u, splits) => splits.map((v) => format(v)),
      },
    ],
    series: [
      {},
      ...lines.map((l) => ({
        label: l.label,
        stroke: cssColor(l.color),
        width: 2,
        dash: l.dash,
        spanGaps: false,
        // Points too: a series with data in one bucket only would otherwise draw nothing.
        points: { show: true, size: 4 },
        value: (_u: uPlot, v: number | null) => (v === null ? '–' : format(v)),
      })),
    ],
  };
  const empty: uPlot.AlignedData = [[], ...lines.map(() => [])];
  const plot = new uPlot(opts, empty, container);
  const ro = new ResizeObserver(() => plot.setSize({ width: width(), height: 230 }));
  ro.observe(container);
  return {
    update(t, ys) {
      plot.setData([t, ...ys] as uPlot.AlignedData);
    },
    destroy() {
      ro.disconnect();
      plot.destroy();
    },
  };
}
