import type { ReportComponent } from '@tributary/contract/reports';
import { chartOption } from './chart-options';
import type { QueryResult } from './query-runner';

const result = (columns: QueryResult['columns'], rows: unknown[][]): QueryResult => ({ columns, rows, truncated: false, ms: 1 });
const component = (kind: ReportComponent['kind'], options: Record<string, unknown>): ReportComponent =>
  ({ id: 'c1', kind, line: 3, options: { query: 'q', ...options } }) as unknown as ReportComponent;
type Series = { name: string; data: unknown[]; showSymbol: boolean; stack?: string };

// Rows as a query grouped by (hour, rule) gives them: a rule has no row in an hour it did not fire.
const byRule = result(
  [
    { name: 'hour', type: 'time' },
    { name: 'rule', type: 'text' },
    { name: 'amount', type: 'decimal' },
  ] as QueryResult['columns'],
  [
    ['2026-12-06T20:00:00Z', 'velocity', '10.50'],
    ['2026-12-06T19:00:00Z', 'amount_spike', '412.00'],
    ['2026-12-06T21:00:00Z', 'velocity', '2.25'],
  ],
);

describe('chartOption for charts over time with a series column', () => {
  it('puts every series on every x in time order, absent as 0 in a stack', () => {
    const option = chartOption(component('area_chart', { x: 'hour', y: 'amount', series: 'rule', stacked: true }), byRule, 'r.md');
    const series = option.series as Series[];
    expect(series.map((s) => s.name)).toEqual(['velocity', 'amount_spike']);
    expect(series[0]!.data).toEqual([
      ['2026-12-06T19:00:00Z', 0],
      ['2026-12-06T20:00:00Z', 10.5],
      ['2026-12-06T21:00:00Z', 2.25],
    ]);
    expect(series[1]!.data).toEqual([
      ['2026-12-06T19:00:00Z', 412],
      ['2026-12-06T20:00:00Z', 0],
      ['2026-12-06T21:00:00Z', 0],
    ]);
    expect(series.every((s) => s.stack === 'total' && !s.showSymbol)).toBe(true);
  });

  it('leaves a gap where a series has no value unstacked, and shows a point that has no neighbour', () => {
    const option = chartOption(component('line_chart', { x: 'hour', y: 'amount', series: 'rule' }), byRule, 'r.md');
    const [velocity, spike] = option.series as Series[];
    expect(velocity!.data.map((d) => (d as unknown[])[1])).toEqual([null, 10.5, 2.25]);
    expect(velocity!.showSymbol).toBe(false);
    // amount_spike has one value with gaps on both sides: without its symbol nothing is drawn.
    expect(spike!.data.map((d) => (d as unknown[])[1])).toEqual([412, null, null]);
    expect(spike!.showSymbol).toBe(true);
  });

  it('aligns bar series on the categories in the order the rows give them', () => {
    const r = result(
      [
        { name: 'region', type: 'text' },
        { name: 'design', type: 'text' },
        { name: 'revenue', type: 'number' },
      ] as QueryResult['columns'],
      [
        ['north', 'a', 5],
        ['south', 'b', 7],
        ['north', 'b', 1],
      ],
    );
    const option = chartOption(component('bar_chart', { x: 'region', y: 'revenue', series: 'design' }), r, 'r.md');
    expect((option.xAxis as { data: string[] }).data).toEqual(['north', 'south']);
    expect((option.series as Series[]).map((s) => [s.name, s.data])).toEqual([
      ['a', [5, null]],
      ['b', [1, 7]],
    ]);
  });
});
