/**
 * A pipeline drawn as a flow: sources on the left, datasets by depth in the middle, warehouse
 * tables on the right, each edge labelled with the records per second flowing along it (animated
 * while records flow) and each node with its count and dead letters.
 */
import { svg } from './dom.js';
import { num, rate } from './format.js';
import type { PipelineOverview } from './types.js';

const W = 184;
const H = 62;
const COL_GAP = 118;
const ROW_GAP = 22;
const PAD = 16;

interface FlowNode {
  id: string;
  kind: 'source' | 'dataset' | 'table';
  name: string;
  meta: string;
  count: string;
  dlq: number;
  col: number;
  x: number;
  y: number;
}

/** Column of each dataset: one more than the deepest thing it reads from (sources are 0). */
function depths(p: PipelineOverview): Map<string, number> {
  const d = new Map<string, number>(p.topology.sources.map((s) => [s.name, 0]));
  // Datasets arrive in dependency order from the server.
  for (const ds of p.topology.datasets) d.set(ds.name, 1 + Math.max(0, ...ds.from.map((f) => d.get(f) ?? 0)));
  return d;
}

/** Builds the SVG flow of one pipeline. */
export function flowDiagram(p: PipelineOverview): SVGElement {
  const depth = depths(p);
  const maxDs = Math.max(1, ...p.topology.datasets.map((d) => depth.get(d.name) ?? 1));
  const nodes: FlowNode[] = [];
  for (const s of p.topology.sources) {
    const c = p.sources[s.name] ?? { accepted: 0, rejected: 0 };
    nodes.push({
      id: `s:${s.name}`,
      kind: 'source',
      name: s.name,
      meta: `${s.kind} source`,
      count: `${num(c.accepted, true)} accepted`,
      dlq: c.rejected,
      col: 0,
      x: 0,
      y: 0,
    });
  }
  for (const d of p.topology.datasets) {
    const c = p.datasets[d.name] ?? { records: 0, filtered: 0, dead_lettered: 0 };
    const filtered = c.filtered ? ` · ${num(c.filtered, true)} filtered` : '';
    nodes.push({
      id: `d:${d.name}`,
      kind: 'dataset',
      name: d.name,
      meta: 'dataset',
      count: `${num(c.records, true)} out${filtered}`,
      dlq: c.dead_lettered,
      col: depth.get(d.name) ?? 1,
      x: 0,
      y: 0,
    });
  }
  for (const t of p.topology.tables) {
    const c = p.tables[t.name] ?? { loaded: 0, dead_lettered: 0 };
    nodes.push({
      id: `t:${t.name}`,
      kind: 'table',
      name: t.name,
      meta: `table · ${t.mode}`,
      count: `${num(c.loaded, true)} loaded`,
      dlq: c.dead_lettered,
      col: maxDs + 1,
      x: 0,
      y: 0,
    });
  }
  const cols = maxDs + 2;
  const perCol = Array.from({ length: cols }, (_, i) => nodes.filter((n) => n.col === i));
  const rows = Math.max(1, ...perCol.map((c) => c.length));
  const height = PAD * 2 + rows * H + (rows - 1) * ROW_GAP;
  perCol.forEach((list, col) => {
    const offset = ((rows - list.length) * (H + ROW_GAP)) / 2;
    list.forEach((n, i) => {
      n.x = PAD + col * (W + COL_GAP);
      n.y = PAD + offset + i * (H + ROW_GAP);
    });
  });
  const width = PAD * 2 + cols * W + (cols - 1) * COL_GAP;
  const byId = new Map(nodes.map((n) => [n.id, n]));
  const idOf = (name: string): string => (p.topology.sources.some((s) => s.name === name) ? `s:${name}` : `d:${name}`);

  const edges: { from: FlowNode; to: FlowNode; rate: number }[] = [];
  for (const d of p.topology.datasets) {
    for (const f of d.from) {
      const from = byId.get(idOf(f));
      const to = byId.get(`d:${d.name}`);
      const r = from?.kind === 'source' ? (p.rates.sources[f] ?? 0) : (p.rates.datasets[f] ?? 0);
      if (from && to) edges.push({ from, to, rate: r });
    }
  }
  for (const t of p.topology.tables) {
    const from = byId.get(`d:${t.from}`);
    const to = byId.get(`t:${t.name}`);
    if (from && to) edges.push({ from, to, rate: p.rates.tables[t.name] ?? 0 });
  }

  const summary = edges.map((e) => `${e.from.name} to ${e.to.name} at ${rate(e.rate)}`).join('; ');
  return svg(
    'svg',
    { class: 'flow', viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-label': `Flow of pipeline ${p.name}: ${summary || 'no edges'}` },
    edges.map((e) => {
      const x1 = e.from.x + W;
      const y1 = e.from.y + H / 2;
      const x2 = e.to.x;
      const y2 = e.to.y + H / 2;
      const mx = (x1 + x2) / 2;
      const width = 1.5 + Math.min(6, Math.log10(1 + e.rate) * 2);
      return svg(
        'g',
        {},
        svg('path', {
          class: `edge${e.rate > 0 ? ' active' : ''}`,
          d: `M${x1},${y1} C${mx},${y1} ${mx},${y2} ${x2},${y2}`,
          'stroke-width': width,
        }),
        svg('text', { class: 'rate', x: mx, y: (y1 + y2) / 2 - 6, 'text-anchor': 'middle' }, rate(e.rate)),
      );
    }),
    nodes.map((n) =>
      svg(
        'g',
        { class: `node ${n.kind}${n.dlq > 0 ? ' has-dlq' : ''}`, transform: `translate(${n.x},${n.y})` },
        svg('title', {}, `${n.name}: ${n.meta}, ${n.count}${n.dlq ? `, ${n.dlq} dead-lettered` : ''}`),
        svg('rect', { width: W, height: H, rx: 9 }),
        svg('text', { class: 'name', x: 12, y: 20 }, n.name),
        svg('text', { class: 'meta', x: 12, y: 36 }, n.meta),
        svg('text', { class: 'meta', x: 12, y: 52 }, n.count),
        n.dlq > 0 ? svg('text', { class: 'dlq', x: W - 10, y: 20, 'text-anchor': 'end' }, `${num(n.dlq, true)} DLQ`) : null,
      ),
    ),
  );
}
