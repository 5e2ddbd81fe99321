/**
 * The bench's figures as the documents quote them: README.md's short table and
 * docs/PERFORMANCE.md's "Latest results", both made from one results file (`bench/results/latest.json`,
 * a run's `bench/results/<date>.json` copied by `npm run bench:docs`), so the two never disagree and
 * a test (tests/docs/bench-tables.test.ts) fails when either differs from the file.
 */

interface Rate {
  records: number;
  perSecond: number;
}

interface Scenario extends Rate {
  peakRssMiB: Record<string, number>;
  checked: string;
}

/** The fields of a results file (bench/src/run.ts writes them) that the documents quote. */
export interface BenchResults {
  date: string;
  machine: { cpus: number; node: string };
  records: number;
  rounds: { rawCopy: Rate[] };
  rawCopy: Rate;
  naive: Rate;
  tributaryPush: Scenario & { peakRssMiB: Record<string, number> };
  steady: { achieved: number; p99: number };
  scenarios: Record<string, Scenario>;
  sources: Record<string, Scenario & { baseline: Rate & { what: string } }>;
  reportLoad?: { phases: { pages: number }[]; costPct: Record<string, { steadyCommitted: number; full: number }> };
  report?: { rows: number; cold: { fcp: number; allData: number }; sqlMs: { first: number } };
  /** The full table the run printed. */
  table: string;
}

const int = (n: number): string => Math.round(n).toLocaleString('en-US');
const x = (n: number, digits = 2): string => n.toFixed(digits);

/**
 * README.md's table: the limits, the headline push and the scenarios a reader compares with other tools;
 * a source scenario's ratio is against its own baseline (the same rows copied by hand, or the offered rate).
 */
export function readmeBlock(r: BenchResults): string {
  const copy = r.rawCopy.perSecond;
  const nv = r.naive.perSecond;
  const row = (label: string, rate: number, vsCopy: string, vsNaive: string): string =>
    `| ${label} | ${int(rate)} | ${vsCopy} | ${vsNaive} |`;
  const scenario = (key: string, label: string): string[] => {
    const s = r.scenarios[key];
    return s ? [row(label, s.perSecond, x(s.perSecond / copy), x(s.perSecond / nv, 1))] : [];
  };
  const source = (key: string, label: string): string[] => {
    const s = r.sources[key];
    return s ? [row(`${label} (vs ${s.baseline.what})`, s.perSecond, x(s.perSecond / s.baseline.perSecond), '')] : [];
  };
  const push = r.tributaryPush.perSecond;
  const rss = Math.max(
    ...[r.tributaryPush, ...Object.values(r.scenarios), ...Object.values(r.sources)].flatMap((s) => Object.values(s.peakRssMiB)),
  );
  const lines = [
    `Run \`${r.date.slice(0, 19)}\` (${int(r.records)} records per scenario, ${r.rounds.rawCopy.length} round(s), ${r.machine.cpus} cores, Node ${r.machine.node.replace(/^v/, '')}):`,
    '',
    '| scenario | records/s | vs raw COPY | vs naive |',
    '| --- | ---: | ---: | ---: |',
    row('raw COPY (limit)', copy, '1.00', x(copy / nv, 1)),
    row('naive: message + INSERT per record', nv, x(nv / copy, 3), '1.0'),
    `| **Tributary, HTTP push, exactly-once** | **${int(push)}** | **${x(push / copy)}** | **${x(push / nv, 1)}** |`,
    ...scenario('window', 'Tributary, window aggregation (records in)'),
    ...scenario('scd2', 'Tributary, SCD2 dimension (versions)'),
    ...scenario(
      'large-table',
      `Tributary, push into a table of ${/table of ([\d,]+)/.exec(r.scenarios['large-table']?.checked ?? '')?.[1] ?? 'millions of'} rows`,
    ),
    ...source('cdc-snapshot', 'Tributary, CDC initial snapshot'),
    ...source('cdc-stream', 'Tributary, CDC source transactions'),
    ...source('file', 'Tributary, CSV files from a folder'),
    '',
    `p99 from ingest request to committed row at a steady ${int(r.steady.achieved)} records/s: ${int(r.steady.p99)} ms; the largest peak RSS of any service in any scenario: ${int(rss)} MiB.`,
  ];
  if (r.report) {
    lines.push(
      `A ten-tile report over ${int(r.report.rows)} rows paints in ${int(r.report.cold.fcp)} ms and shows all its data in ${int(r.report.cold.allData)} ms (its queries alone: ${int(r.report.sqlMs.first)} ms).`,
    );
  }
  if (r.reportLoad) {
    const cost = Object.entries(r.reportLoad.costPct)
      .map(
        ([browser, c]) =>
          `${x(c.steadyCommitted, 1)}% at the steady rate and ${x(c.full, 1)}% at full load with their browser ${browser === 'as is' ? 'as it is' : `under ${browser}`}`,
      )
      .join('; ');
    const pages = Math.max(...r.reportLoad.phases.map((p) => p.pages));
    lines.push(`${pages} live report pages open cost the pipeline ${cost}.`);
  }
  return lines.join('\n');
}

/** docs/PERFORMANCE.md's "Latest results": the run, then the whole table it printed. */
export function performanceBlock(r: BenchResults): string {
  return [
    `Run \`${r.date.slice(0, 19)}\` (${int(r.records)} records per scenario, ${r.rounds.rawCopy.length} round(s) of the headline comparison, ${r.machine.cpus} cores, Node ${r.machine.node.replace(/^v/, '')}); generated from \`bench/results/latest.json\` by \`npm run bench:docs\`:`,
    '',
    r.table,
  ].join('\n');
}
