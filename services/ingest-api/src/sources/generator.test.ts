import { pino } from 'pino';
import type { Pipeline } from '@tributary/contract/spec';
import type { RecordIngestor } from '../record-ingestor';
import { create, spec } from './generator';

/** Records what the generator hands the ingestor (the publish path has tests of its own). */
function recordingIngestor(fail = false): { ingestor: RecordIngestor; calls: { records: number; id: string; tick: number }[] } {
  const calls: { records: number; id: string; tick: number }[] = [];
  const ingestor = {
    async ingest(_p: Pipeline, _s: string, records: unknown[], id: string, ingestedAt: number) {
      calls.push({ records: records.length, id, tick: ingestedAt });
      if (fail) throw new Error('stream full');
      await new Promise((r) => setTimeout(r, 5));
      return { accepted: records.length, rejected: 0, errors: [], messages: 1, duplicates: 0, batch_id: id };
    },
  } as unknown as RecordIngestor;
  return { ingestor, calls };
}

const deps = (ingestor: RecordIngestor) => ({
  pipeline: { name: 'p' } as Pipeline,
  name: 'gen',
  ingestor,
  logger: pino({ level: 'silent' }),
});

describe('generator source', () => {
  it('hands a fast generator its records in bounded chunks with distinct IDs', async () => {
    const { ingestor, calls } = recordingIngestor();
    const g = create(spec.parse({ kind: 'generator', generator: 'traffic', rate: '200000/s', seed: 1 }), deps(ingestor));
    await g.start();
    await new Promise((r) => setTimeout(r, 450));
    await g.stop();
    expect(calls.length).toBeGreaterThan(2);
    expect(Math.max(...calls.map((c) => c.records))).toBeLessThanOrEqual(5_000);
    expect(new Set(calls.map((c) => c.id)).size).toBe(calls.length);
    // A tick's worth at 200,000/s is 20,000 records: it arrives as several full chunks.
    expect(calls.filter((c) => c.records === 5_000).length).toBeGreaterThan(1);
  });

  it('skips the rest of a tick when publishing fails, and carries on ticking', async () => {
    const { ingestor, calls } = recordingIngestor(true);
    const g = create(spec.parse({ kind: 'generator', generator: 'traffic', rate: '200000/s', seed: 1 }), deps(ingestor));
    await g.start();
    while (calls.length < 3) await new Promise((r) => setTimeout(r, 20));
    await g.stop();
    // Each tick is due more than one chunk (all of a tick's chunks carry its time), but after a
    // failed chunk the next call is the next tick's.
    expect(calls[0]!.records).toBe(5_000);
    expect(new Set(calls.map((c) => c.tick)).size).toBe(calls.length);
  });

  it('stops by itself after its total, having handed over exactly that many records', async () => {
    const { ingestor, calls } = recordingIngestor();
    const g = create(spec.parse({ kind: 'generator', generator: 'traffic', rate: '20000/s', total: 7_500, seed: 1 }), deps(ingestor));
    await g.start();
    while (calls.reduce((n, c) => n + c.records, 0) < 7_500) await new Promise((r) => setTimeout(r, 20));
    await new Promise((r) => setTimeout(r, 300)); // three more ticks' time: nothing more comes
    await g.stop();
    expect(calls.reduce((n, c) => n + c.records, 0)).toBe(7_500);
  });

  it('stops by itself after its duration', async () => {
    const { ingestor, calls } = recordingIngestor();
    const g = create(spec.parse({ kind: 'generator', generator: 'traffic', rate: '1000/s', duration: '300ms', seed: 1 }), deps(ingestor));
    await g.start();
    await new Promise((r) => setTimeout(r, 700));
    const made = calls.length;
    await new Promise((r) => setTimeout(r, 300));
    await g.stop();
    expect(made).toBeGreaterThan(0);
    expect(calls.length).toBe(made);
    // 1000/s for 300 ms, in 100 ms ticks: at most four ticks' worth.
    expect(calls.reduce((n, c) => n + c.records, 0)).toBeLessThanOrEqual(400);
  });

  it('is bounded by default: 15 minutes unless the spec says otherwise', () => {
    expect(spec.parse({ kind: 'generator', generator: 'traffic' }).duration).toBe(15 * 60_000);
    expect(spec.parse({ kind: 'generator', generator: 'traffic', duration: 'unbounded' }).duration).toBe('unbounded');
  });
});
