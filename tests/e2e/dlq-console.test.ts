/**
 * The dead-letter console closes the loop, against the whole stack: bad records are dead-lettered
 * and grouped by cause (stage, code, field, schema fingerprint, first and last seen); a replay of an
 * unfixed record is refused with the reason; a preview of a fixed record runs it through the
 * running pipeline and says it would load; the replay reports where the record went, lands it
 * exactly once (also when repeated) and counts it as replayed, not received again, so the counts
 * reconcile; a whole group is fixed by a JSONata expression; a record the transformer refuses is
 * previewed with the transformer's reason and, replayed unfixed, reported dead-lettered again; a bulk
 * discard and every fix are in the audit trail. Through the CLI and the API alike.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { stopAll, waitFor } from '@tributary/testkit';
import { ndjson, passage } from './passages';
import type { Stack } from './stack';
import { startStack } from './start-stack';

jest.setTimeout(120_000);

const ROOT = path.resolve(__dirname, '../..');
const TOKEN = 'dlq-console-admin-token-0123456789';
let stack: Stack;
let dir: string;

/** Runs `tributary <args>` with the admin token; returns its exit code and output. */
function tributary(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [path.join(ROOT, 'apps/cli/dist/cli.js'), ...args], {
    env: { ...process.env, MONITOR_URL: stack.url('monitor'), MONITOR_ADMIN_TOKEN: TOKEN },
    encoding: 'utf8',
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

async function api(pathname: string, body?: unknown): Promise<any> {
  const r = await fetch(`${stack.url('monitor')}${pathname}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json', 'x-tributary-actor': 'e2e operator' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const json = await r.json();
  if (!r.ok) throw new Error(`${pathname}: ${r.status} ${JSON.stringify(json)}`);
  return json;
}

const rowsOf = async (eventId: string): Promise<number> =>
  Number((await stack.query<{ n: string }>('SELECT count(*) AS n FROM warehouse.fact_passage WHERE event_id = $1', [eventId]))[0]!.n);

/** accepted + replayed = loaded + filtered + dead-lettered (transform + load); received = accepted + rejected. */
function reconciles(s: any): boolean {
  const loaded = s.tables.fact_passage.loaded;
  return (
    s.received === s.accepted + s.rejected &&
    s.accepted + s.replayed === loaded + s.filtered + s.dead_lettered.transform + s.dead_lettered.load
  );
}

/**
 * The traffic pipeline whose `validate` step applies a policy stricter than the source schema (at
 * most 5 passengers), so a bus passes ingest and is dead-lettered by the transformer.
 */
function writePipeline(into: string): string {
  const folder = path.join(into, 'pipelines');
  mkdirSync(path.join(folder, 'schemas'), { recursive: true });
  copyFileSync(path.join(ROOT, 'pipelines/schemas/passage.json'), path.join(folder, 'schemas/passage.json'));
  const policy = JSON.parse(readFileSync(path.join(ROOT, 'pipelines/schemas/passage.json'), 'utf8'));
  policy.properties.passengers = { type: 'integer', minimum: 0, maximum: 5 };
  writeFileSync(path.join(folder, 'schemas/passage-policy.json'), JSON.stringify(policy));
  const yaml = readFileSync(path.join(ROOT, 'pipelines/traffic.yaml'), 'utf8').replace(
    '- validate: { schema: schemas/passage.json }',
    '- validate: { schema: schemas/passage-policy.json }',
  );
  if (!yaml.includes('passage-policy.json')) throw new Error('pipelines/traffic.yaml changed shape: update this test');
  writeFileSync(path.join(folder, 'traffic.yaml'), yaml);
  return folder;
}

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'tributary-dlq-console-'));
  stack = await startStack({ pipelines: writePipeline(dir), env: { MONITOR_ADMIN_TOKEN: TOKEN, MONITOR_REFRESH: '0ms' } });
  // 200 passages: 7 and 107 have lane 0 (dead-lettered at ingest), 3, 53, 103, 153 are filtered.
  expect((await stack.push('gantry', ndjson(0, 200), { 'idempotency-key': 'dlq-console-1' })).status).toBe(202);
  await waitFor(async () => (await stack.status()).tables.fact_passage.loaded === 194, { timeoutMs: 30_000, what: '194 passages loaded' });
}, 120_000);
afterAll(async () => {
  await stack?.stopAll();
  await stopAll();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('the DLQ console', () => {
  let first: number;
  let second: number;

  it('groups dead letters by stage, code, field and schema fingerprint with first and last seen, and totals', async () => {
    const g = await api('/api/dlq/groups?pipeline=traffic&by=stage,code,field,schema');
    expect(g.totals).toEqual({ open: 2, replayed: 0, discarded: 0, all: 2 });
    expect(g.groups).toHaveLength(1);
    const [group] = g.groups;
    expect(group).toMatchObject({ key: { stage: 'ingest', code: 'TRIB_E_VALIDATION', field: 'lane' }, count: 2 });
    expect(group.key.schema).toMatch(/^json_schema:[0-9a-f]{16}$/);
    expect(Date.parse(group.first_seen)).toBeLessThanOrEqual(Date.parse(group.last_seen));
    expect(group.filter).toMatchObject({ pipeline: 'traffic', stage: 'ingest', code: 'TRIB_E_VALIDATION', field: 'lane' });

    const cli = tributary(['dlq', 'list', '--pipeline', 'traffic', '--group-by', 'code,field']);
    expect(cli.status).toBe(0);
    expect(cli.stdout).toContain('dead letters: 2 open, 0 replayed, 0 discarded, 2 in all');
    expect(cli.stdout).toMatch(/^TRIB_E_VALIDATION\s+lane\s+2\s/m);
    const listed = JSON.parse(tributary(['dlq', 'list', '--pipeline', 'traffic', '--json']).stdout) as { seq: number; record: any }[];
    [second, first] = listed.map((d) => d.seq);
    expect(listed.map((d) => d.record.event_id)).toEqual(['e-107', 'e-7']);
  });

  it('refuses to replay a record that still fails the source schema, and says why', () => {
    const r = tributary(['dlq', 'replay', String(first)]);
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/0 done, 0 skipped.*1 failed/);
    expect(r.stdout).toContain(`${first}: still fails the source schema schemas/passage.json: field "lane"`);
    // What an edit must satisfy there: the source schema, with the rule the record broke.
    const hints = JSON.parse(tributary(['dlq', 'show', String(first), '--schema']).stdout);
    expect(hints.schema).toMatchObject({ ref: 'schemas/passage.json', doc: { properties: { lane: { minimum: 1 } } } });
  });

  it('previews an edited record through the running pipeline, replays it, reports it loaded, and lands it once', async () => {
    const file = path.join(dir, 'fixed.json');
    writeFileSync(file, JSON.stringify({ ...passage(7), lane: 1 }));
    const unfixed = tributary(['dlq', 'preview', String(first)]);
    expect(unfixed.status).toBe(1);
    expect(unfixed.stdout).toMatch(/would be dead-lettered again: ingest: TRIB_E_VALIDATION lane/);

    const preview = tributary(['dlq', 'preview', String(first), '--record-file', file]);
    expect(preview.stdout).toContain(`${first} (ingest gantry, fixed): would load into fact_passage`);
    expect(preview.status).toBe(0);
    const json = JSON.parse(tributary(['dlq', 'preview', String(first), '--record-file', file, '--json']).stdout);
    expect(json.records[0].tables[0]).toMatchObject({ table: 'fact_passage', row: { event_id: 'e-7', lane: 1, speed_kmh: 59.5 } });
    expect(await rowsOf('e-7')).toBe(0); // a preview publishes nothing

    const replay = tributary(['dlq', 'replay', String(first), '--record-file', file]);
    expect(replay.stdout).toContain(`${first}: loaded into fact_passage (1)`);
    expect(replay.status).toBe(0);
    expect(await rowsOf('e-7')).toBe(1);
    // Forced again: the same message ID, so JetStream (or the ledger) keeps it at one row.
    expect(tributary(['dlq', 'replay', String(first), '--record-file', file, '--force', '--wait', '2']).stdout).toMatch(/1 done/);
    await waitFor(async () => ((await stack.status()).replayed === 1 ? true : undefined), {
      timeoutMs: 10_000,
      what: 'one replay counted',
    });
    expect(await rowsOf('e-7')).toBe(1);

    const s = await stack.status();
    expect(s).toMatchObject({ received: 200, accepted: 198, rejected: 2, replayed: 1, filtered: 4 });
    expect(s.tables.fact_passage.loaded).toBe(195);
    expect(reconciles(s)).toBe(true);
  });

  it('fixes a whole group with an expression: preview, replay, loaded, counts reconcile', async () => {
    const filter = { pipeline: 'traffic', stage: 'ingest', code: 'TRIB_E_VALIDATION', field: 'lane' };
    const fix = { set: { lane: '$max([lane, 1])' } };
    const preview = await api('/api/dlq/preview', { filter, fix });
    expect(preview.summary).toMatchObject({ load: 1, dead_letter: 0 });
    expect(preview.records).toEqual([expect.objectContaining({ seq: second, changed: true, outcome: 'load' })]);

    const replay = await api('/api/dlq/replay', { filter, fix });
    expect(replay).toMatchObject({ requested: 1, done: 1, failed: 0 });
    expect(replay.outcomes).toEqual([{ seq: second, outcome: 'loaded', tables: { fact_passage: 1 } }]);
    expect(await rowsOf('e-107')).toBe(1);
    await waitFor(async () => ((await stack.status()).replayed === 2 ? true : undefined), {
      timeoutMs: 10_000,
      what: 'two replays counted',
    });
    const s = await stack.status();
    expect(s).toMatchObject({ received: 200, accepted: 198, replayed: 2 });
    expect(s.tables.fact_passage.loaded).toBe(196);
    expect(reconciles(s)).toBe(true);
  });

  it('reports a replay dead-lettered again by the transformer, with the new error, and previews why before', async () => {
    const bus = { ...passage(300), event_id: 'bus-1', passengers: 8 };
    expect((await stack.push('gantry', JSON.stringify(bus), { 'idempotency-key': 'dlq-console-bus' })).json.accepted).toBe(1);
    const seq = await waitFor(
      async () => (await api('/api/dlq?pipeline=traffic&stage=transform&q=bus-1')).dead_letters[0]?.seq as number | undefined,
      { timeoutMs: 15_000, what: 'the dead letter of bus-1' },
    );
    const preview = tributary(['dlq', 'preview', String(seq)]);
    expect(preview.status).toBe(1);
    expect(preview.stdout).toMatch(/would be dead-lettered again: transform passages: TRIB_E_VALIDATION .*passengers/);

    const again = await api('/api/dlq/replay', { seqs: [seq] });
    expect(again).toMatchObject({ done: 1, failed: 0 });
    expect(again.outcomes).toEqual([
      {
        seq,
        outcome: 'dead_lettered',
        dead_letters: [
          expect.objectContaining({ stage: 'transform', code: 'TRIB_E_VALIDATION', message: expect.stringMatching(/passengers/) }),
        ],
      },
    ]);
    const [{ seq: second }] = again.outcomes[0].dead_letters;
    const fixed = tributary(['dlq', 'replay', String(second), '--set', 'passengers=5']);
    expect(fixed.stdout).toContain(`${second}: loaded into fact_passage (1)`);
    expect(await rowsOf('bus-1')).toBe(1);
    await waitFor(async () => ((await stack.status()).replayed === 4 ? true : undefined), {
      timeoutMs: 10_000,
      what: 'four replays counted',
    });
    const s = await stack.status();
    expect(s).toMatchObject({ received: 201, accepted: 199, replayed: 4 });
    expect(s.dead_lettered.transform).toBe(2);
    expect(reconciles(s)).toBe(true);
  });

  it('discards a group in bulk with a reason, and the audit trail shows who did what with which fix', async () => {
    expect((await stack.push('gantry', ndjson(200, 100), { 'idempotency-key': 'dlq-console-2' })).status).toBe(202);
    await waitFor(async () => ((await api('/api/dlq/groups?pipeline=traffic&by=code')).totals.open === 1 ? true : undefined), {
      timeoutMs: 15_000,
      what: 'the new dead letter',
    });
    const r = tributary(['dlq', 'discard', '--pipeline', 'traffic', '--stage', 'ingest', '--reason', 'test gantry G008']);
    expect(r.stdout).toMatch(/1 done, 0 skipped/);
    expect(r.status).toBe(0);
    expect((await api('/api/dlq/groups?pipeline=traffic&by=code')).totals).toEqual({ open: 0, replayed: 4, discarded: 1, all: 5 });

    const { actions } = await api('/api/dlq/actions');
    expect(actions[0]).toMatchObject({ action: 'discard', actor: 'tributary-cli', done: 1, note: 'test gantry G008' });
    expect(actions[0].selection).toEqual({ filter: { pipeline: 'traffic', stage: 'ingest' } });
    expect(actions[1]).toMatchObject({ action: 'replay', actor: 'tributary-cli', done: 1, fix: { set: { passengers: '5' } } });
    expect(actions.find((a: any) => a.fix?.set?.lane)).toMatchObject({ actor: 'e2e operator', fix: { set: { lane: '$max([lane, 1])' } } });
    expect(actions.find((a: any) => a.action === 'replay' && a.fix?.edited)).toMatchObject({ fix: { edited: [first] } });
    const audit = tributary(['dlq', 'audit', '--limit', '3']);
    expect(audit.status).toBe(0);
    expect(audit.stdout.split('\n')[0]).toMatch(/^ID\s+AT\s+ACTOR\s+ACTION\s+REQUESTED\s+DONE/);
    expect(audit.stdout).toContain('test gantry G008');
  });
});
