/**
 * The operator's CLI against the running stack: `tributary status` (table and JSON, exit 0 while
 * fresh; a named pipeline's tables with their load counts), `tributary dlq list|show|discard|replay` through the monitor's API with its exit codes
 * (2 for usage errors, 1 when a record was not handled), a discard's reason in the audit trail,
 * and `--help` on every command.
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { stopAll, waitFor } from '@tributary/testkit';
import { ndjson } from './passages';
import type { Stack } from './stack';
import { startStack } from './start-stack';

jest.setTimeout(120_000);

const ROOT = path.resolve(__dirname, '../..');
const TOKEN = 'cli-operator-admin-token-0123456789';
let stack: Stack;

/**
 * Runs `tributary <args>`; returns its exit code and output. Asynchronously: a blocked event loop
 * keeps this process's idle HTTP connections from timing out, and one the monitor closed meanwhile
 * fails the next fetch ("other side closed", seen on a loaded machine).
 */
async function tributary(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ status: number | null; stdout: string; stderr: string }> {
  try {
    const r = await promisify(execFile)(process.execPath, [path.join(ROOT, 'apps/cli/dist/cli.js'), ...args], {
      env: { ...process.env, MONITOR_URL: stack.url('monitor'), ...env },
      encoding: 'utf8',
    });
    return { status: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (err) {
    const e = err as { code?: unknown; stdout?: string; stderr?: string };
    if (typeof e.code !== 'number') throw err;
    return { status: e.code, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

beforeAll(async () => {
  stack = await startStack({ env: { MONITOR_ADMIN_TOKEN: TOKEN, MONITOR_REFRESH: '250ms' } });
  // 200 passages: records 7, 107 fail the source schema (dead-lettered at ingest), 3, 53, 103, 153 are filtered.
  expect((await stack.push('gantry', ndjson(0, 200), { 'idempotency-key': 'cli-1' })).status).toBe(202);
  await waitFor(async () => (await stack.status()).tables.fact_passage.loaded === 194, { timeoutMs: 30_000, what: '194 passages loaded' });
}, 120_000);
afterAll(async () => {
  await stack?.stopAll();
  await stopAll();
});

describe('tributary status', () => {
  it('shows each pipeline with its counts as a table and as JSON, exit 0 while fresh', async () => {
    const table = await tributary(['status']);
    expect(table.status).toBe(0);
    expect(table.stdout.split('\n')[0]).toMatch(/^PIPELINE\s+RECEIVED\s+ACCEPTED\s+LOADED\s+FILTERED\s+DEAD-LETTERED/);
    expect(table.stdout).toMatch(/^traffic\s+200\s+198\s+194\s+4\s+2\s/m);
    const json = await tributary(['status', 'traffic', '--json']);
    expect(json.status).toBe(0);
    const [p] = JSON.parse(json.stdout) as { name: string; accepted: number; fresh: boolean }[];
    expect(p).toMatchObject({ name: 'traffic', accepted: 198, fresh: true });
  });

  it('with a pipeline named, lists its tables with the load counts the loader exports too', async () => {
    const r = await tributary(['status', 'traffic']);
    expect(r.status).toBe(0);
    const lines = r.stdout.split('\n');
    expect(lines).toContainEqual(expect.stringMatching(/^TABLE\s+LOADED\s+INSERTED\s+UPDATED\s+UNCHANGED\s+SKIPPED\s+DEAD-LETTERED$/));
    // 194 new passages into an append table: every one inserted.
    expect(lines).toContainEqual(expect.stringMatching(/^fact_passage\s+194\s+194\s+0\s+0\s+0\s+0$/));
    const metrics = await (await fetch(`${stack.url('loader')}/metrics`)).text();
    expect(metrics).toMatch(/^tributary_rows_total\{[^}]*pipeline="traffic",table="fact_passage",outcome="inserted"[^}]*\} 194$/m);
  });

  it('exits 2 for an unknown pipeline, naming the ones there are', async () => {
    const r = await tributary(['status', 'nosuch']);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('unknown pipeline "nosuch" (pipelines: traffic)');
  });
});

describe('tributary dlq', () => {
  it('lists and shows dead letters, discards with a reason kept in the audit trail, and reports a replay it could not do', async () => {
    const list = await tributary(['dlq', 'list', '--pipeline', 'traffic', '--json']);
    expect(list.status).toBe(0);
    const rows = JSON.parse(list.stdout) as { seq: number; stage: string; error: { code: string }; status: string }[];
    expect(rows.map((r) => [r.stage, r.error.code, r.status])).toEqual([
      ['ingest', 'TRIB_E_VALIDATION', 'open'],
      ['ingest', 'TRIB_E_VALIDATION', 'open'],
    ]);
    expect((await tributary(['dlq', 'list'])).stdout).toMatch(/^SEQ\s+PIPELINE\s+STAGE/);
    const show = await tributary(['dlq', 'show', String(rows[0]!.seq)]);
    expect(show.status).toBe(0);
    expect(JSON.parse(show.stdout)).toMatchObject({ seq: rows[0]!.seq, pipeline: 'traffic', stage: 'ingest' });

    // Usage errors: exit 2.
    expect((await tributary(['dlq', 'discard', String(rows[0]!.seq)], { MONITOR_ADMIN_TOKEN: TOKEN })).status).toBe(2);
    expect((await tributary(['dlq', 'show', 'abc'])).status).toBe(2);
    expect((await tributary(['dlq', 'list', '--bogus'])).status).toBe(2);
    // Without the admin token the monitor refuses: exit 1 with the hint.
    const refused = await tributary(['dlq', 'discard', String(rows[0]!.seq), '--reason', 'x']);
    expect(refused.status).toBe(1);
    expect(refused.stderr).toContain('MONITOR_ADMIN_TOKEN');

    const discard = await tributary(['dlq', 'discard', String(rows[0]!.seq), '--reason', 'lane 0 is a test gantry'], {
      MONITOR_ADMIN_TOKEN: TOKEN,
    });
    expect(discard.status).toBe(0);
    expect(discard.stdout).toMatch(/1 done, 0 skipped/);
    const audit = (await (await fetch(`${stack.url('monitor')}/api/dlq/actions`)).json()) as {
      actions: { action: string; note: string }[];
    };
    expect(audit.actions[0]).toMatchObject({ action: 'discard', note: 'lane 0 is a test gantry' });
    // Replaying a discarded record without --force skips it: exit 1.
    const replay = await tributary(['dlq', 'replay', String(rows[0]!.seq)], { MONITOR_ADMIN_TOKEN: TOKEN });
    expect(replay.status).toBe(1);
    expect(replay.stdout).toMatch(/0 done, 1 skipped/);
  });
});

describe('tributary --help', () => {
  it('documents every command and the exit codes', async () => {
    const names = ['migrate', 'validate', 'docs', 'check', 'models', 'backfill', 'status', 'dlq'];
    for (const name of names) {
      const r = await tributary([name, '--help']);
      expect({ name, status: r.status }).toEqual({ name, status: 0 });
      expect(r.stdout).toContain(`  ${name} `);
      expect(r.stdout).toContain('exit codes: 0 ok, 1 a finding');
    }
  });
});
