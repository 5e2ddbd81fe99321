/**
 * The landing archive and `tributary backfill`, black-box: records pushed through a whole stack
 * (every service its own process) land in archive files once each, raw and processed,
 * partitioned by stage, source or dataset and day, even with the loader (and its archiver)
 * SIGKILLed mid-stream; `backfill` into a fresh stack (new NATS, new PostgreSQL) rebuilds exactly
 * the same warehouse table; a second backfill changes nothing (JetStream's duplicate window is
 * short there, so the load ledger is what skips it) and the monitor counts nothing twice; a
 * damaged archive file stops the backfill with an error naming the file and the record.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { jetstreamManager } from '@nats-io/jetstream';
import { connectNats } from '@tributary/runtime/nats';
import { consumers, STREAMS } from '@tributary/contract/wire';
import { decodeArchive, LocalArchiveStore, parseArchiveKey } from '@tributary/archive';
import { stopAll, waitFor } from '@tributary/testkit';
import { expected, isFiltered, isInvalid, ndjson } from '../../../tests/e2e/passages';
import { Stack } from '../../../tests/e2e/stack';

jest.setTimeout(600_000);
afterAll(stopAll);

const ROOT = path.resolve(__dirname, '../../..');
const PUSHES = 6;
const PER_PUSH = 500;
const TOTAL = PUSHES * PER_PUSH;

const pipelineYaml = (archiveDir: string) => `
pipeline: arch
sources:
  gantry: { kind: push, schema: ${path.join(ROOT, 'pipelines/schemas/passage.json')} }
datasets:
  passages:
    from: gantry
    fields:
      event_id: { type: string, required: true }
      gantry_id: string
      plate: string
      speed_kmh: number
      lane: integer
      passengers: integer
      observed_at: timestamp
    steps:
      - map: { speed_kmh: '$round(speed_mph * 1.609344, 1)' }
      - filter: 'speed_kmh > 0'
tables:
  fact_passage: { from: passages, mode: append, key: [event_id] }
archive:
  location: ${archiveDir}
  flush: { interval: 500ms, max_messages: 4 }
`;

const TABLE_SQL = `SELECT event_id, gantry_id, plate, speed_kmh, lane, passengers, observed_at, _msg_id, _ingested_at
                   FROM warehouse.fact_passage ORDER BY event_id`;

/** Messages not yet acked by a consumer of the stack. */
async function backlog(stack: Stack, stream: string, durable: string): Promise<number> {
  const nc = await connectNats(stack.nats.url, 'test');
  try {
    const info = await (await jetstreamManager(nc)).consumers.info(stream, durable);
    return info.num_pending + info.num_ack_pending;
  } finally {
    await nc.close();
  }
}

describe('archive and backfill', () => {
  let dir: string;
  let file: string;
  let archive: LocalArchiveStore;
  let first: Stack;
  let fresh: Stack;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'trib-archive-e2e-'));
    file = path.join(dir, 'arch.yaml');
    writeFileSync(file, pipelineYaml(path.join(dir, 'archive')));
    archive = new LocalArchiveStore(path.join(dir, 'archive'));
    // A short ack wait: the killed archiver's messages come back within seconds.
    first = await Stack.start({ pipelines: file, env: { TRIBUTARY_ACK_WAIT: '3s' }, services: ['ingest-api', 'transformer', 'loader'] });
  }, 180_000);

  afterAll(async () => {
    await first?.stopAll();
    await fresh?.stopAll();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** Every archived message of a stage, by message ID, with the files holding it. */
  const archived = async (stage: 'raw' | 'processed') => {
    const out = new Map<string, { keys: string[]; records: Record<string, unknown>[] }>();
    for (const key of await archive.list(`arch/${stage}/`)) {
      const k = parseArchiveKey(key)!;
      expect(k).toMatchObject({ pipeline: 'arch', stage, name: stage === 'raw' ? 'gantry' : 'passages', ext: 'parquet' });
      for (const m of await decodeArchive(key, await archive.get(key))) {
        expect(new Date(m.ingestedAt).toISOString().slice(0, 10)).toBe(k.date);
        const e = out.get(m.msgId) ?? { keys: [], records: [] };
        e.keys.push(key);
        e.records.push(...m.records.map((r) => JSON.parse(r) as Record<string, unknown>));
        out.set(m.msgId, e);
      }
    }
    return out;
  };

  it('archives every raw and processed batch exactly once, partitioned, across a SIGKILL of the loader', async () => {
    for (let p = 0; p < PUSHES; p++) {
      const r = await first.push('gantry', ndjson(p * PER_PUSH, PER_PUSH), { 'idempotency-key': `k${p}` }, 'arch');
      expect(r.status).toBe(202);
      if (p === 2) {
        // Some files are written by now, others are in flight: the loader dies mid-stream.
        await waitFor(async () => (await archive.list('arch/')).length > 0, { timeoutMs: 60_000, what: 'the first archive files' });
        await first.kill('loader');
      }
    }
    await first.startService('loader');
    const want = expected(TOTAL);
    await waitFor(async () => Number((await first.query('SELECT count(*) AS n FROM warehouse.fact_passage'))[0]!.n) === want.loaded, {
      timeoutMs: 180_000,
      intervalMs: 500,
      what: `${want.loaded} rows in fact_passage`,
    });
    await waitFor(
      async () =>
        (await backlog(first, STREAMS.raw, consumers.archiver('arch'))) === 0 &&
        (await backlog(first, STREAMS.processed, consumers.archiver('arch'))) === 0,
      { timeoutMs: 180_000, intervalMs: 500, what: 'the archiver to ack every raw and processed message' },
    );

    // The loader reports the archive lag per stage (0 now) and what it wrote.
    const metrics = await (await fetch(`${first.url('loader')}/metrics`)).text();
    for (const stage of ['raw', 'processed'])
      expect(metrics).toMatch(new RegExp(`tributary_archive_lag_messages\\{[^}]*pipeline="arch",stage="${stage}"[^}]*\\} 0\\n`));
    expect(metrics).toContain('# TYPE tributary_archive_files_total counter');

    const raw = await archived('raw');
    const processed = await archived('processed');
    const copies = [...raw, ...processed].filter(([, e]) => e.keys.length > 1).map(([id, e]) => `${id}: ${e.keys.join(', ')}`);
    expect(copies).toEqual([]);
    // Raw: every accepted record as ingested; processed: every record the transformer kept.
    const ids = (m: Map<string, { records: Record<string, unknown>[] }>) =>
      [...m.values()].flatMap((e) => e.records.map((r) => r.event_id as string));
    const ordered = (list: string[]) => [...list].sort();
    const all = Array.from({ length: TOTAL }, (_, i) => i);
    expect(ordered(ids(raw))).toEqual(ordered(all.filter((i) => !isInvalid(i)).map((i) => `e-${i}`)));
    expect(ordered(ids(processed))).toEqual(ordered(all.filter((i) => !isInvalid(i) && !isFiltered(i)).map((i) => `e-${i}`)));
    const table = await first.query<{ event_id: string; _msg_id: string }>(TABLE_SQL);
    expect(table.map((r) => r.event_id)).toEqual(ordered(ids(processed)));
    // A processed record keeps the message ID it was loaded under.
    for (const row of table.slice(0, 50)) expect(processed.get(row._msg_id)!.records.some((r) => r.event_id === row.event_id)).toBe(true);
  });

  it('backfills a fresh stack to exactly the same table, and a second backfill changes nothing', async () => {
    const keysBefore = await archive.list('arch/');
    // A one-second duplicate window: the second backfill gets past JetStream, the ledger must stop it.
    fresh = await Stack.start({ pipelines: file, env: { TRIBUTARY_DUPLICATE_WINDOW: '1s' }, services: ['loader', 'monitor'] });
    const { stdout } = await fresh.cli(['backfill', file]);
    const backfilledAt = Date.now();
    expect(stdout).toMatch(/backfilled arch processed from .*: \d+ files, \d+ messages, \d+ records/);
    const source = await first.query(TABLE_SQL);
    const rebuilt = () => fresh.query(TABLE_SQL);
    await waitFor(async () => (await rebuilt()).length === source.length, {
      timeoutMs: 180_000,
      intervalMs: 500,
      what: `${source.length} rows in the fresh warehouse`,
    });
    expect(await rebuilt()).toEqual(source);

    const ledger = async () => (await fresh.query('SELECT count(*) AS n, sum(records) AS r FROM tributary.load_ledger'))[0];
    const streamLog = async () =>
      (await fresh.query(`SELECT count(*) AS n, sum(records) AS r FROM tributary.stream_log WHERE stream = 'processed'`))[0];
    const before = {
      ledger: await ledger(),
      streamLog: await waitFor(
        async () => {
          const s = await streamLog();
          if (Number(s!.r) !== source.length) throw new Error(`stream_log has ${JSON.stringify(s)}, want ${source.length} records`);
          return s;
        },
        { timeoutMs: 60_000, intervalMs: 500, what: 'the monitor to fold every backfilled message' },
      ),
    };

    // Past the fresh stack's 1 s duplicate window (a configured timer, not a hope about processing).
    await waitFor(async () => Date.now() - backfilledAt > 1_500, { timeoutMs: 5_000, what: 'the duplicate window to pass' });
    const second = await fresh.cli(['backfill', file]);
    const published = Number(/published (\d+) messages/.exec(second.stdout)?.[1]);
    expect(published).toBeGreaterThan(0); // outside the 1 s window: JetStream stored them again
    await waitFor(async () => (await backlog(fresh, STREAMS.processed, consumers.loader('arch'))) === 0, {
      timeoutMs: 180_000,
      intervalMs: 500,
      what: 'the loader to take the second backfill',
    });
    await waitFor(async () => (await backlog(fresh, STREAMS.processed, consumers.monitor('processed'))) === 0, {
      timeoutMs: 60_000,
      intervalMs: 500,
      what: 'the monitor to fold the second backfill',
    });
    expect(await rebuilt()).toEqual(source);
    expect(await ledger()).toEqual(before.ledger);
    expect(await streamLog()).toEqual(before.streamLog);
    // The fresh stack's archiver did not archive the republished messages again.
    await waitFor(async () => (await backlog(fresh, STREAMS.processed, consumers.archiver('arch'))) === 0, {
      timeoutMs: 60_000,
      intervalMs: 500,
      what: 'the fresh archiver to pass over the backfill',
    });
    expect(await archive.list('arch/')).toEqual(keysBefore);
  });

  it('stops on a damaged archive file, naming the file and the record', async () => {
    const broken = 'arch/processed/passages/date=2099-01-01/000000000001-000000000001.parquet';
    await archive.put(broken, Buffer.from('PAR1 this is not parquet'));
    const run = (args: string[]) =>
      fresh.cli(['backfill', file, ...args]).then(
        () => ({ code: 0, stderr: '' }),
        (e: { code: number; stderr: string }) => e,
      );
    let r = await run(['--from', '2099-01-01']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`TRIB_E_DECODE: ${broken}: not a readable Parquet file`);

    const badRecord = 'arch/processed/passages/date=2099-01-02/000000000005-000000000005.ndjson.gz';
    const row = (i: number, record: string) =>
      `{"stream_seq":5,"subject":"trib.processed.arch.passages","msg_id":"m5","record_index":${i},"ingested_at":"2099-01-02T00:00:00Z","headers":${i ? 'null' : '{}'},"record":${record}}`;
    await archive.put(badRecord, gzipSync(`${row(0, '{"event_id":"x"}')}\n${row(1, '"not an object"')}\n`));
    r = await run(['--from', '2099-01-02', '--stage', 'processed']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`TRIB_E_DECODE: ${badRecord}: record 1: record must be a JSON object`);

    r = await run(['--stage', 'loaded']);
    expect(r.code).toBe(2); // a usage error (docs/operations.md, exit codes)
    expect(r.stderr).toContain('--stage must be raw or processed');
  });
});
