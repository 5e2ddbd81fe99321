/**
 * In-process harness for pull sources: a private NATS with Tributary's streams and buckets
 * (SourceEnv), pipelines written to a temp folder, the real RecordIngestor and KV cursor store,
 * and `runOnce` to run a source one time without the scheduler. Shared by the rest, scheduler
 * and conformance tests.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { jetstream } from '@nats-io/jetstream';
import { Kvm, type KV } from '@nats-io/kv';
import { connect, nuid, type NatsConnection } from '@nats-io/transport-node';
import { BUCKETS } from '@tributary/contract/wire';
import { loadPipelineFile, type Pipeline } from '@tributary/contract/spec';
import { createLogger, type Logger } from '@tributary/runtime/logger';
import { Publisher } from '@tributary/runtime/nats';
import { Registry } from 'prom-client';
import { RecordIngestor } from '../src/record-ingestor';
import { KvCursorStore } from '../src/scheduling/cursor-store';
import { buildPullContext, type PullContextDeps } from '../src/scheduling/pull-context';
import type { CursorStore, PullContext, PullRunResult, PullSource } from '../src/sources/pull-source';
import { SourceEnv } from './source-env';

/** NATS, buckets, and helpers to run pull sources in this process. */
export class PullHarness {
  readonly logger: Logger = createLogger('test', process.env.LOG_LEVEL ?? 'silent');
  private n = 0;

  private constructor(
    readonly env: SourceEnv,
    readonly leases: KV,
    readonly cursors: KV,
  ) {}

  /** Starts NATS with the streams and KV buckets. */
  static async start(): Promise<PullHarness> {
    const env = await SourceEnv.start();
    const kvm = new Kvm(env.nc);
    return new PullHarness(env, await kvm.open(BUCKETS.leases), await kvm.open(BUCKETS.cursors));
  }

  /** A new NATS connection (a second "replica"); closed by the caller. */
  connect(): Promise<NatsConnection> {
    return connect({ servers: this.env.nats.url });
  }

  /** What runs share, on `nc` (the harness connection by default). */
  async deps(nc: NatsConnection = this.env.nc): Promise<PullContextDeps & { cursors: KV }> {
    const publisher = new Publisher(jetstream(nc), 64);
    const kvm = new Kvm(nc);
    return {
      ingestor: new RecordIngestor(publisher, { batchRecords: 1000, batchBytes: 768 * 1024 }),
      publisher,
      js: jetstream(nc),
      leases: nc === this.env.nc ? this.leases : await kvm.open(BUCKETS.leases),
      cursors: nc === this.env.nc ? this.cursors : await kvm.open(BUCKETS.cursors),
      registry: new Registry(),
    };
  }

  /** Writes `yaml` (with `pipeline: <name>` inside) to a fresh folder and loads it. */
  pipeline(yaml: string, files: Record<string, string> = {}): Pipeline {
    const dir = path.join(this.env.dir, `p${++this.n}`);
    mkdirSync(dir, { recursive: true });
    for (const [name, text] of Object.entries(files)) {
      mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
      writeFileSync(path.join(dir, name), text);
    }
    writeFileSync(path.join(dir, 'pipeline.yaml'), yaml);
    return loadPipelineFile(path.join(dir, 'pipeline.yaml'));
  }

  /** The KV cursor store of a source. */
  cursorStore(pipeline: Pipeline, source: string): KvCursorStore {
    return new KvCursorStore(this.cursors, pipeline.name, source);
  }

  /** A run context for `source` (a fresh cursor store unless given). */
  async context(
    pipeline: Pipeline,
    source: string,
    opts: { cursors?: CursorStore; signal?: AbortSignal; deps?: PullContextDeps } = {},
  ): Promise<PullContext> {
    return buildPullContext(opts.deps ?? (await this.deps()), {
      pipeline,
      source,
      cursors: opts.cursors ?? this.cursorStore(pipeline, source),
      signal: opts.signal ?? new AbortController().signal,
      logger: this.logger,
      scheduledAt: Date.now(),
      runId: nuid.next(),
      // Outside the scheduler nothing counts failures, so there is nothing to reset.
      healthy: () => undefined,
    });
  }

  /** Runs `src` once as `source` of `pipeline`. */
  async runOnce(
    src: PullSource,
    pipeline: Pipeline,
    source: string,
    opts: Parameters<PullHarness['context']>[2] = {},
  ): Promise<PullRunResult | void> {
    return src.run(await this.context(pipeline, source, opts));
  }

  /** Closes the connection and the temp folder. */
  close(): Promise<void> {
    return this.env.close();
  }
}
