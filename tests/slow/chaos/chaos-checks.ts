/**
 * What a chaos (or soak) run checks once the load has stopped and the pipelines have drained:
 * the counting invariant of docs/design.md per pipeline, dataset and table from the monitor's
 * durable counts; that nothing was dead-lettered after ingest (all data is valid there); that the
 * push client's records landed exactly once; that the warehouse holds exactly the CDC source's
 * committed state (latest row per account, every account version once, every transfer once) and
 * the replication slot was confirmed past the last write; that every item of every REST page
 * landed once; what the push client was answered; and that alerts fired and all resolved. Each
 * check goes into the report with its figures, pass or fail.
 */
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { loadPipelineFile, type Pipeline } from '@tributary/contract/spec';
import { waitFor } from '@tributary/testkit';
import type { Received } from '../../e2e/alert-receivers';
import { isFiltered, isInvalid } from '../../e2e/passages';
import type { ChaosReport } from './chaos-report';
import { type ChaosStack, LEDGER_SLOT } from './chaos-stack';
import { FIRST_PUSHED, type SteadyLoad } from './steady-load';

/** The monitor's status of every pipeline, keyed by name, and its own fold lag. */
async function statuses(sys: ChaosStack): Promise<{ pipelines: Map<string, any>; monitorLag: Record<string, any> }> {
  const r = await fetch(`${sys.stack.url('monitor')}/api/pipelines`);
  if (r.status !== 200) throw new Error(`monitor answered ${r.status}: ${await r.text()}`);
  const body = (await r.json()) as { pipelines: any[]; monitor_lag: Record<string, any> };
  return { pipelines: new Map(body.pipelines.map((p) => [p.name, p])), monitorLag: body.monitor_lag };
}

const idle = (l: { pending: number | null; ack_pending: number | null } | undefined): boolean => l?.pending === 0 && l?.ack_pending === 0;

/** The pipelines of the run, as the services load them. */
function loadPipelines(dir: string): Pipeline[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.yaml'))
    .map((f) => loadPipelineFile(path.join(dir, f)));
}

/**
 * Waits until everything the sources produced has gone through: the slot is confirmed past the
 * bank's last write, every REST item is in the warehouse, and no stage or monitor fold has
 * anything pending. Records the outcome as a check.
 */
async function drain(sys: ChaosStack, report: ChaosReport, names: string[], lastWriteLsn: string, timeoutMs: number): Promise<boolean> {
  let last: unknown = 'nothing yet';
  const started = Date.now();
  try {
    await waitFor(
      async () => {
        const slot = await sys.bank.slotReached(LEDGER_SLOT, lastWriteLsn);
        const [{ items }] = await sys.warehouse<{ items: number }>('SELECT count(*)::int AS items FROM warehouse.fact_item');
        const s = await statuses(sys);
        const lag = Object.fromEntries(names.map((n) => [n, s.pipelines.get(n)?.lag]));
        last = { slot, items: `${items} of ${sys.api.items.length}`, lag, monitor_lag: s.monitorLag };
        const stagesIdle = names.every((n) => idle(s.pipelines.get(n)?.lag?.transformer) && idle(s.pipelines.get(n)?.lag?.loader));
        const foldsIdle = Object.values(s.monitorLag).every(idle);
        return slot.reached && items >= sys.api.items.length && stagesIdle && foldsIdle;
      },
      { timeoutMs, intervalMs: 1_000, what: 'every source to be read and every pipeline to drain' },
    );
    return report.check('drained', true, `in ${((Date.now() - started) / 1000).toFixed(0)} s`);
  } catch {
    return report.check('drained', false, `not within ${timeoutMs / 1000} s; last: ${JSON.stringify(last)}`);
  }
}

/** accepted = records + filtered + dead-lettered per dataset, and loaded + dead-lettered = records per table. */
async function checkInvariants(sys: ChaosStack, report: ChaosReport, pipelines: Pipeline[]): Promise<void> {
  const s = await statuses(sys);
  for (const p of pipelines) {
    const st = s.pipelines.get(p.name);
    for (const d of p.datasets) {
      const accepted = d.from.reduce((sum, src) => sum + (st.sources[src]?.accepted ?? 0), 0);
      const c = st.datasets[d.name];
      const rhs = c.records + c.filtered + c.dead_lettered;
      report.check(
        `invariant ${p.name}.${d.name}`,
        accepted === rhs && accepted > 0,
        `accepted ${accepted} = records ${c.records} + filtered ${c.filtered} + dead-lettered ${c.dead_lettered}`,
      );
      for (const t of p.tables.filter((x) => x.from === d.name)) {
        const tc = st.tables[t.name];
        report.check(
          `invariant ${p.name}.${t.name}`,
          tc.loaded + tc.dead_lettered === c.records,
          `loaded ${tc.loaded} + load dead-lettered ${tc.dead_lettered} = ${d.name} records ${c.records}`,
        );
      }
    }
  }
}

/**
 * No record dead-lettered by the transformer or the loader: every record of the run is valid for
 * its dataset and table, so one there means a fault was taken for bad data. The reasons are listed.
 */
async function checkNoStageDeadLetters(sys: ChaosStack, report: ChaosReport): Promise<void> {
  const rows = await sys.warehouse<{ pipeline: string; stage: string; name: string; code: string; message: string; n: number }>(
    `SELECT pipeline, stage, name, error_code AS code, left(min(error_message), 200) AS message, count(*)::int AS n
       FROM tributary.dead_letters WHERE stage <> 'ingest' GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4`,
  );
  report.check(
    'no record dead-lettered by transform or load',
    rows.length === 0,
    rows.length === 0 ? 'none' : rows.map((r) => `${r.pipeline}/${r.stage}/${r.name}: ${r.n} × ${r.code} (${r.message})`).join('; '),
  );
}

/** The push client's records: each valid, unfiltered one exactly once, nothing else of them. */
async function checkPushed(sys: ChaosStack, report: ChaosReport, load: SteadyLoad): Promise<void> {
  const { pushed } = load.push;
  let expected = 0;
  for (let i = FIRST_PUSHED; i < FIRST_PUSHED + pushed; i++) if (!isInvalid(i) && !isFiltered(i)) expected++;
  const [r] = await sys.warehouse<{ total: number; uniq: number; mine: number }>(
    `SELECT count(*)::int AS total, count(DISTINCT event_id)::int AS uniq,
            count(*) FILTER (WHERE event_id ~ '^e-[0-9]+$' AND substr(event_id, 3)::bigint >= $1)::int AS mine
       FROM warehouse.fact_passage`,
    [FIRST_PUSHED],
  );
  report.check('traffic: no duplicate event ids', r!.total === r!.uniq, `${r!.total} rows, ${r!.uniq} distinct event ids`);
  report.check(
    'traffic: pushed records exactly once',
    r!.mine === expected,
    `${r!.mine} landed of ${expected} expected (${pushed} pushed, valid and unfiltered)`,
  );
  const statusLine = [...load.push.statuses].map(([st, n]) => `${st || 'no answer'}: ${n}`).join(', ');
  const errors = [...load.push.statuses].filter(([st]) => st >= 500 && st !== 503).reduce((a, [, n]) => a + n, 0);
  report.check('push client: no 5xx but 503', errors === 0, `answers ${statusLine}${load.push.unexpected.map((u) => `; ${u}`).join('')}`);
  report.check(
    'push client: every 503/429 had Retry-After',
    load.push.withoutRetryAfter === 0,
    `${load.push.withoutRetryAfter} without it; ${load.push.streamFull} × "stream full"`,
  );
}

/** The warehouse holds exactly the bank's committed state, and the slot moved past the last write. */
async function checkLedger(sys: ChaosStack, report: ChaosReport, lastWriteLsn: string): Promise<void> {
  const { bank } = sys;
  const accounts = await bank.sql<{ id: number; balance: string; version: number }>(
    'SELECT id, balance::text, version FROM accounts ORDER BY id',
  );
  const dim = await sys.warehouse<{ id: string; balance: string; version: string }>(
    'SELECT a.id::text, a.balance::text, a.version::text FROM warehouse.dim_account a ORDER BY a.id',
  );
  const source = accounts.map((a) => `${a.id}:${a.balance}:${a.version}`).join(',');
  const warehouse = dim.map((a) => `${a.id}:${a.balance}:${a.version}`).join(',');
  const differing = accounts.filter(
    (a, i) => `${a.id}:${a.balance}:${a.version}` !== (dim[i] && `${dim[i].id}:${dim[i].balance}:${dim[i].version}`),
  );
  report.check(
    'ledger: dim_account = source accounts (latest state per key)',
    source === warehouse,
    `${accounts.length} accounts in the source, ${dim.length} in the warehouse, ${differing.length} differ${
      differing.length ? ` (first: source ${JSON.stringify(differing[0])})` : ''
    }`,
  );

  const versions = await sys.warehouse<{ id: string; n: number; uniq: number; lo: number; hi: number }>(
    `SELECT id::text, count(*)::int AS n, count(DISTINCT version)::int AS uniq, min(version)::int AS lo, max(version)::int AS hi
       FROM warehouse.fact_account_version GROUP BY id`,
  );
  const byId = new Map(versions.map((v) => [Number(v.id), v]));
  const wrong = accounts.filter((a) => {
    const v = byId.get(a.id);
    return !v || v.n !== a.version || v.uniq !== a.version || v.lo !== 1 || v.hi !== a.version;
  });
  const total = versions.reduce((s, v) => s + v.n, 0);
  const expected = accounts.reduce((s, a) => s + a.version, 0);
  report.check(
    'ledger: every account version exactly once',
    wrong.length === 0 && byId.size === accounts.length,
    `${total} version rows for ${expected} versions committed; ${wrong.length} accounts off${
      wrong.length ? ` (first: ${JSON.stringify({ source: wrong[0], warehouse: byId.get(wrong[0]!.id) })})` : ''
    }`,
  );

  const [src] = await bank.sql<{ n: number; total: string }>(
    'SELECT count(*)::int AS n, coalesce(sum(amount), 0)::text AS total FROM transfers',
  );
  const [wh] = await sys.warehouse<{ n: number; uniq: number; total: string }>(
    'SELECT count(*)::int AS n, count(DISTINCT id)::int AS uniq, coalesce(sum(amount), 0)::text AS total FROM warehouse.fact_transfer',
  );
  report.check(
    'ledger: every transfer exactly once',
    src!.n === wh!.n && wh!.uniq === wh!.n && src!.total === wh!.total,
    `source ${src!.n} transfers (sum ${src!.total}); warehouse ${wh!.n} rows, ${wh!.uniq} distinct, sum ${wh!.total}`,
  );

  const slot = await bank.slotReached(LEDGER_SLOT, lastWriteLsn);
  report.check(
    'ledger: slot confirmed past the last write',
    slot.reached,
    `confirmed_flush_lsn ${slot.confirmed} vs last write ${lastWriteLsn}`,
  );
}

/** Every item of every page exactly once. */
async function checkCatalog(sys: ChaosStack, report: ChaosReport): Promise<void> {
  const [wh] = await sys.warehouse<{ n: number; uniq: number; lo: number | null; hi: number | null }>(
    'SELECT count(*)::int AS n, count(DISTINCT seq)::int AS uniq, min(seq)::int AS lo, max(seq)::int AS hi FROM warehouse.fact_item',
  );
  const n = sys.api.items.length;
  report.check(
    'catalog: every REST item exactly once',
    wh!.n === n && wh!.uniq === n && wh!.lo === 1 && wh!.hi === n,
    `${n} items served (${sys.api.pagesServed} whole pages, ${sys.api.cutsDone} cut mid-body); warehouse ${wh!.n} rows, ${wh!.uniq} distinct, seq ${wh!.lo}..${wh!.hi}`,
  );
}

/** Alert notices at the webhook: at least one fired, and the last notice of every alert is its resolve. */
export async function checkAlerts(sys: ChaosStack, report: ChaosReport, timeoutMs: number): Promise<void> {
  const notices = (): { fired: number; open: string[]; names: Set<string> } => {
    const last = new Map<string, string>();
    const names = new Set<string>();
    let fired = 0;
    for (const r of sys.webhook.received as Received[]) {
      const t = r.body?.tributary;
      if (!t) continue;
      const key = `${t.alert}${JSON.stringify(t.labels)}`;
      last.set(key, t.status);
      if (t.status === 'firing') {
        fired++;
        names.add(t.alert);
      }
    }
    return { fired, open: [...last].filter(([, st]) => st !== 'resolved').map(([k]) => k), names };
  };
  const settled = await waitFor(
    async () => {
      const n = notices();
      return n.fired > 0 && n.open.length === 0 ? n : undefined;
    },
    { timeoutMs, intervalMs: 500, what: 'every fired alert to be resolved' },
  ).catch(() => undefined);
  const n = settled ?? notices();
  report.check('alerts: at least one fired', n.fired > 0, `${n.fired} firing notices (${[...n.names].join(', ') || 'none'})`);
  // When one stays open, say what the webhook got for it and what the monitor holds now, so the
  // report tells a lost resolve from a condition that still holds.
  const history = (key: string): string =>
    (sys.webhook.received as Received[])
      .map((r) => r.body?.tributary)
      .filter((t) => t && `${t.alert}${JSON.stringify(t.labels)}` === key)
      .map((t) => t.status)
      .join('>');
  const active = n.open.length
    ? await fetch(`${sys.stack.url('monitor')}/api/alerts`)
        .then(async (r) => ((await r.json()) as { active?: { alert: string; state: string; value: number }[] }).active ?? [])
        .then((a) => a.map((x) => `${x.alert}(${x.state}, value ${x.value})`).join(' ') || 'none')
        .catch((err: Error) => `unreadable: ${err.message}`)
    : '';
  report.check(
    'alerts: all resolved by the end',
    n.fired > 0 && n.open.length === 0,
    n.open.length === 0
      ? `${sys.webhook.received.length} notices, none left open`
      : `still open: ${n.open.map((k) => `${k} [${history(k)}]`).join(' ')}; the monitor holds: ${active}`,
  );
}

/**
 * Everything a run checks once its load has stopped: the generator is stopped too (the ingest-api
 * restarts without it) so counts can settle, then the pipelines drain and every data check runs.
 */
export async function checkAfterLoad(sys: ChaosStack, report: ChaosReport, load: SteadyLoad): Promise<void> {
  const lastWrite = await sys.bank.walLsn();
  report.note(
    `load stopped: ${load.push.pushed} records pushed, ${sys.bank.committed} bank transactions committed (${sys.bank.failed} failed attempts), ${sys.api.items.length} REST items; last write at LSN ${lastWrite}`,
  );
  await sys.stack.stop('ingest-api');
  await sys.stack.startService('ingest-api', { INGEST_GENERATORS: 'false' });
  const pipelines = loadPipelines(sys.dir);
  await drain(
    sys,
    report,
    pipelines.map((p) => p.name),
    lastWrite,
    300_000,
  );
  await checkInvariants(sys, report, pipelines);
  await checkNoStageDeadLetters(sys, report);
  await checkPushed(sys, report, load);
  await checkLedger(sys, report, lastWrite);
  await checkCatalog(sys, report);
}
