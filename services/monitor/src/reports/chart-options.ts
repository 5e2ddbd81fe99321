/**
 * ECharts options for the chart components, built from a query's rows on the server. One
 * builder serves the live page (the browser hands the option to ECharts) and the static
 * snapshot (`report build` renders the same option to SVG), so both draw the same thing.
 */
import path from 'node:path';
import { TributaryError } from '@tributary/contract/errors';
import { type ComponentKind, type ReportComponent } from '@tributary/contract/reports';
import type { QueryResult } from './query-runner';

/** Chart component kinds (the others render as HTML). */
export const CHART_KINDS: ReadonlySet<ComponentKind> = new Set(['line_chart', 'area_chart', 'bar_chart', 'histogram', 'heatmap', 'map']);

type Option = Record<string, unknown>;

/** The index of `column` in the result, or a TRIB_E_REPORT naming the component's line. */
export function columnIndex(result: QueryResult, column: string, c: ReportComponent, file: string): number {
  const i = result.columns.findIndex((col) => col.name === column);
  if (i < 0)
    throw new TributaryError(
      'TRIB_E_REPORT',
      `${c.kind} (${path.basename(file)}:${c.line}): column "${column}" is not in the result of query ${c.options.query} (columns: ${result.columns.map((x) => x.name).join(', ')})`,
      { location: { file, line: c.line } },
    );
  return i;
}

const num = (v: unknown): number | null => (v === null || v === undefined || v === '' ? null : Number(v));
const BASE: Option = {
  animation: false,
  tooltip: { trigger: 'axis' },
  grid: { left: 8, right: 16, top: 32, bottom: 8, containLabel: true },
};

function xyChart(c: ReportComponent, r: QueryResult, file: string): Option {
  const o = c.options as { x: string; y: string | string[]; series?: string; stacked?: boolean; horizontal?: boolean; y_label?: string };
  const xi = columnIndex(r, o.x, c, file);
  const ys = (Array.isArray(o.y) ? o.y : [o.y]).map((y) => ({ name: y, i: columnIndex(r, y, c, file) }));
  const time = r.columns[xi]!.type === 'time' || r.columns[xi]!.type === 'date';
  const type = c.kind === 'bar_chart' ? 'bar' : 'line';
  const area = c.kind === 'area_chart';
  const extra = {
    stack: o.stacked ? 'total' : undefined,
    areaStyle: area ? {} : undefined,
    emphasis: { focus: 'series' },
  };
  const groups = new Map<string, Map<string, number | null>>();
  const xs = new Map<string, unknown>();
  const add = (name: string, x: unknown, y: number | null): void => {
    xs.set(String(x), x);
    if (!groups.has(name)) groups.set(name, new Map());
    // One value per series and x, as a category axis draws it: the first row's.
    if (!groups.get(name)!.has(String(x))) groups.get(name)!.set(String(x), y);
  };
  if (o.series) {
    const si = columnIndex(r, o.series, c, file);
    for (const row of r.rows) add(String(row[si] ?? '(none)'), row[xi], num(row[ys[0]!.i]));
  } else for (const row of r.rows) for (const y of ys) add(y.name, row[xi], num(row[y.i]));
  // Every series on every x of the result: a query grouped by (x, series) has no row where a
  // series had nothing, and stacked values must line up. Absent counts as 0 in a stack (nothing
  // there) and as a gap otherwise (unknown, not zero).
  const xKeys = [...xs.keys()];
  if (time) xKeys.sort((a, b) => Date.parse(a) - Date.parse(b));
  const absent = o.stacked ? 0 : null;
  const series = [...groups].map(([name, values]) => {
    const points = xKeys.map((k) => (values.has(k) ? values.get(k)! : absent));
    // A point with no neighbour draws no line: show the points where one would vanish.
    const isolated = points.some((y, i) => y !== null && (points[i - 1] ?? null) === null && (points[i + 1] ?? null) === null);
    return {
      name,
      type,
      ...extra,
      showSymbol: type === 'line' && isolated,
      data: time ? xKeys.map((k, i) => [xs.get(k), points[i]]) : points,
    };
  });
  const categories = time ? undefined : xKeys;
  const xAxis = time ? { type: 'time' } : { type: 'category', data: categories };
  const yAxis = { type: 'value', name: o.y_label, scale: type === 'line' && !area };
  return {
    ...BASE,
    legend: series.length > 1 ? { top: 0, type: 'scroll' } : undefined,
    xAxis: o.horizontal ? yAxis : xAxis,
    yAxis: o.horizontal ? xAxis : yAxis,
    series,
  };
}

function histogram(c: ReportComponent, r: QueryResult, file: string): Option {
  const o = c.options as { value: string; bins: number };
  const vi = columnIndex(r, o.value, c, file);
  const values = r.rows.map((row) => num(row[vi])).filter((v): v is number => v !== null && Number.isFinite(v));
  const min = Math.min(...values);
  const max = Math.max(...values);
  const width = values.length === 0 ? 1 : (max - min) / o.bins || 1;
  const counts = new Array<number>(values.length === 0 ? 0 : o.bins).fill(0);
  for (const v of values) counts[Math.min(o.bins - 1, Math.floor((v - min) / width))]!++;
  const round = (v: number): string => String(Math.round(v * 100) / 100);
  return {
    ...BASE,
    xAxis: { type: 'category', name: o.value, data: counts.map((_, i) => `${round(min + i * width)}–${round(min + (i + 1) * width)}`) },
    yAxis: { type: 'value', name: 'rows' },
    series: [{ type: 'bar', name: o.value, barCategoryGap: '2%', data: counts }],
  };
}

function heatmap(c: ReportComponent, r: QueryResult, file: string): Option {
  const o = c.options as { x: string; y: string; value: string };
  const [xi, yi, vi] = [o.x, o.y, o.value].map((col) => columnIndex(r, col, c, file)) as [number, number, number];
  const xs = [...new Set(r.rows.map((row) => String(row[xi])))];
  const ys = [...new Set(r.rows.map((row) => String(row[yi])))];
  const data = r.rows.map((row) => [xs.indexOf(String(row[xi])), ys.indexOf(String(row[yi])), num(row[vi])]);
  const vals = data.map((d) => d[2] as number | null).filter((v): v is number => v !== null);
  return {
    ...BASE,
    tooltip: { position: 'top' },
    grid: { ...(BASE.grid as Option), bottom: 48 },
    xAxis: { type: 'category', data: xs, name: o.x, splitArea: { show: true } },
    yAxis: { type: 'category', data: ys, name: o.y, splitArea: { show: true } },
    visualMap: {
      min: vals.length ? Math.min(...vals) : 0,
      max: vals.length ? Math.max(...vals) : 1,
      calculable: true,
      orient: 'horizontal',
      left: 'center',
      bottom: 0,
      itemHeight: 120,
    },
    series: [{ type: 'heatmap', name: o.value, data }],
  };
}

function pointMap(c: ReportComponent, r: QueryResult, file: string): Option {
  const o = c.options as { lat: string; lon: string; value?: string; label?: string };
  const lat = columnIndex(r, o.lat, c, file);
  const lon = columnIndex(r, o.lon, c, file);
  const vi = o.value ? columnIndex(r, o.value, c, file) : -1;
  const li = o.label ? columnIndex(r, o.label, c, file) : -1;
  const pts = r.rows
    .map((row) => ({ name: li >= 0 ? String(row[li]) : '', value: [num(row[lon]), num(row[lat]), vi >= 0 ? num(row[vi]) : 1] }))
    .filter((p) => p.value[0] !== null && p.value[1] !== null);
  const lons = pts.map((p) => p.value[0]!);
  const lats = pts.map((p) => p.value[1]!);
  const span = pts.length ? Math.max(Math.max(...lons) - Math.min(...lons), (Math.max(...lats) - Math.min(...lats)) * 2, 0.05) : 360;
  const vmax = Math.max(1, ...pts.map((p) => Math.abs(p.value[2] ?? 0)));
  return {
    animation: false,
    tooltip: { trigger: 'item' },
    geo: {
      map: LAND_MAP,
      roam: true,
      silent: true,
      // Frame the points: ECharts' zoom is relative to the whole world's width.
      center: pts.length ? [(Math.max(...lons) + Math.min(...lons)) / 2, (Math.max(...lats) + Math.min(...lats)) / 2] : undefined,
      zoom: Math.min(200, Math.max(1, 300 / (span * 1.4))),
      itemStyle: { areaColor: '#e8ecef', borderColor: '#b8c2cc' },
    },
    series: [
      {
        type: 'scatter',
        coordinateSystem: 'geo',
        name: o.value ?? 'points',
        // Area follows the value: a point twice the value is twice the ink.
        data: pts.map((p) => ({ ...p, symbolSize: vi >= 0 ? 6 + 18 * Math.sqrt(Math.abs(p.value[2] ?? 0) / vmax) : 10 })),
        label: { show: li >= 0, formatter: '{b}', position: 'right', fontSize: 10 },
      },
    ],
  };
}

/** Name the land base map is registered under (world-atlas land polygons, shipped with the monitor). */
export const LAND_MAP = 'tributary-land';

/** The ECharts option of a chart component for the given rows. */
export function chartOption(c: ReportComponent, r: QueryResult, file: string): Option {
  switch (c.kind) {
    case 'line_chart':
    case 'area_chart':
    case 'bar_chart':
      return { ...xyChart(c, r, file), title: undefined };
    case 'histogram':
      return histogram(c, r, file);
    case 'heatmap':
      return heatmap(c, r, file);
    case 'map':
      return pointMap(c, r, file);
    default:
      throw new TributaryError('TRIB_E_INTERNAL', `${c.kind} is not a chart`);
  }
}
