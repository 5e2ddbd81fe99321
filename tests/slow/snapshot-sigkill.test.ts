/**
 * The postgres_cdc initial snapshot of an ingest-api SIGKILLed in the middle of it: the restarted
 * process resumes it on the same slot from the last chunk JetStream stored, under concurrent
 * inserts, updates, deletes and key moves, and every row arrives exactly once. In the slow suite
 * (two service starts, ~15 s); the in-process deaths at each phase are in
 * `services/ingest-api/test/snapshot-resume.test.ts`.
 */
import { readFileSync } from 'node:fs';
import { jetstreamManager } from '@nats-io/jetstream';
import { STREAMS } from '@tributary/contract/wire';
import { stopAll, waitFor } from '@tributary/testkit';
import { Client } from 'pg';
import { expectExactlyOnce, PIPELINE, streamed, useSourceDatabase, Workload } from '../../services/ingest-api/test/cdc-workload';

jest.setTimeout(120_000);
afterAll(stopAll);

const src = useSourceDatabase('sigkill', 8);

describe('postgres_cdc initial snapshot of an ingest-api SIGKILLed mid-snapshot', () => {
  it('is resumed by the restarted process on the same slot, every row once', async () => {
    const name = 'sigkill';
    process.env.RESUME_DB_URL = src.url;
    src.h.env.writePipeline(name, PIPELINE(name).replace('batch_records: 20', 'batch_records: 50'));
    const bg = new Client({ connectionString: src.url });
    bg.on('error', () => undefined);
    await bg.connect();
    const work = new Workload(name, bg, [5_000, 1_000]);
    let writer: { stop(): Promise<void> } | undefined;
    try {
      await work.setup();
      const first = await src.h.env.spawnIngest({ RESUME_DB_URL: src.url });
      writer = work.background();
      // Killed once some chunks are stored and well before the 120 of the snapshot are.
      const subject = `trib.raw.${name}.changes`;
      const jsm = await jetstreamManager(src.h.env.nc);
      const stored = async (): Promise<number> =>
        (await jsm.streams.info(STREAMS.raw, { subjects_filter: subject })).state.subjects?.[subject] ?? 0;
      await waitFor(async () => (await stored()) >= 5, {
        timeoutMs: 30_000,
        intervalMs: 10,
        what: 'snapshot chunks',
      });
      first.proc.kill('SIGKILL');
      await first.proc.exited;
      expect(await stored()).toBeLessThan(120);
      await work.more(20);
      const second = await src.h.env.spawnIngest({ RESUME_DB_URL: src.url });
      await work.more(20);
      await streamed(src.h, src.db, src.h.pipeline(PIPELINE(name)), name, writer);
      await second.proc.stop();
      const log = readFileSync(second.proc.logPath, 'utf8');
      expect(log).toContain('"msg":"initial snapshot resumed"');
      await expectExactlyOnce(src.h, src.db, name);
    } finally {
      await writer?.stop();
      await bg.end();
    }
  });
});
