/**
 * `tributary offsets` against a real nats-server: shows a pull source's committed position (and its
 * sub-keys), refuses to move it while a replica runs the source (a live lease, not paused, or
 * paused with its run still going), and rewinds or resets it once the source is stopped.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { Kvm, type KV } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import { BUCKETS } from '@tributary/contract/wire';
import { connectNats, cursorKey, leaseKey, scheduleKey, setSourcePause } from '@tributary/runtime/nats';
import { NatsServer, stopAll } from '@tributary/testkit';

const ROOT = path.resolve(__dirname, '../../..');
let nats: NatsServer;
let nc: NatsConnection;
let cursors: KV;
let leases: KV;

function offsets(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [path.join(ROOT, 'apps/cli/dist/cli.js'), 'offsets', ...args], {
    env: { ...process.env, NATS_URL: nats.url, TRIBUTARY_PIPELINES: path.join(ROOT, 'pipelines/forecast.yaml'), LOG_LEVEL: 'silent' },
    encoding: 'utf8',
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

beforeAll(async () => {
  nats = await NatsServer.start();
  nc = await connectNats(nats.url, 'offsets-test');
  const kvm = new Kvm(nc);
  [cursors, leases] = await Promise.all([kvm.create(BUCKETS.cursors), kvm.create(BUCKETS.leases)]);
}, 30_000);
afterAll(async () => {
  await nc?.close();
  await stopAll();
});

it('shows, refuses while running, then rewinds and resets a stopped source', async () => {
  await cursors.put(cursorKey('forecast', 'hourly'), JSON.stringify({ next: 'page-7' }));
  await cursors.put(cursorKey('forecast', 'hourly', 'parents'), JSON.stringify({ p1: 5 }));
  const shown = offsets('show', 'forecast', 'hourly');
  expect(shown.status).toBe(0);
  expect(shown.stdout).toMatch(/^cursor\.forecast\.hourly \(revision \d+\): \{"next":"page-7"\}$/m);
  expect(shown.stdout).toContain('cursor.forecast.hourly.parents');

  // A replica holds the lease and the source is not paused: refused, nothing changed.
  await leases.put(leaseKey('forecast', 'hourly'), JSON.stringify({ holder: 'ingest-1', expiresAt: Date.now() + 60_000 }));
  const refused = offsets('rewind', 'forecast', 'hourly', '{"next":"page-1"}');
  expect(refused.status).toBe(1);
  expect(refused.stdout).toContain('replica ingest-1 runs it: pause it first');
  // Paused while a run was going: still refused until the run ended.
  await setSourcePause(cursors, 'forecast', 'hourly', { at: Date.now(), by: 'test' });
  expect(offsets('reset', 'forecast', 'hourly').stdout).toContain('has not ended yet');
  const state = { due: Date.now(), failures: 0, last: { scheduledAt: 0, finishedAt: Date.now() + 1, outcome: 'ok' } };
  await cursors.put(scheduleKey('forecast', 'hourly'), JSON.stringify(state));

  const rewind = offsets('rewind', 'forecast', 'hourly', '{"next":"page-1"}');
  expect(rewind.stdout).toContain('cursor.forecast.hourly: {"next":"page-7"} -> {"next":"page-1"}');
  expect(rewind.status).toBe(0);
  expect((await cursors.get(cursorKey('forecast', 'hourly')))!.json()).toEqual({ next: 'page-1' });

  const reset = offsets('reset', 'forecast', 'hourly');
  expect(reset.status).toBe(0);
  expect(reset.stdout).toContain('2 keys deleted');
  for await (const k of await cursors.keys('cursor.>')) throw new Error(`key ${k} left`);

  // Paused between runs (the next one not due yet): nothing is in progress, so it may move at once.
  await cursors.put(cursorKey('forecast', 'daily'), JSON.stringify({ cursor: 1 }));
  await leases.put(leaseKey('forecast', 'daily'), JSON.stringify({ holder: 'ingest-1', expiresAt: Date.now() + 60_000 }));
  const past = { scheduledAt: 0, finishedAt: Date.now() - 5_000, outcome: 'ok' };
  await cursors.put(scheduleKey('forecast', 'daily'), JSON.stringify({ due: Date.now() + 60_000, failures: 0, last: past }));
  await setSourcePause(cursors, 'forecast', 'daily', { at: Date.now(), by: 'test' });
  expect(offsets('rewind', 'forecast', 'daily', '{"cursor":0}').status).toBe(0);
  // Paused when the run was due: refused until the scheduler says it held the run back.
  await cursors.put(scheduleKey('forecast', 'daily'), JSON.stringify({ due: 0, failures: 0, last: past }));
  expect(offsets('rewind', 'forecast', 'daily', '{"cursor":0}').status).toBe(1);
  await cursors.put(scheduleKey('forecast', 'daily'), JSON.stringify({ due: 0, failures: 0, last: past, held: Date.now() }));
  expect(offsets('rewind', 'forecast', 'daily', '{"cursor":0}').status).toBe(0);

  const usage = offsets('show', 'forecast', 'nosuch');
  expect(usage.status).toBe(2);
  expect(usage.stderr).toContain('pipeline "forecast" has no source "nosuch" (sources: hourly, daily)');
});
