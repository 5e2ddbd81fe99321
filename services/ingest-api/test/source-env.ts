/**
 * Test environment for pull sources: a private NATS with Tributary's streams and buckets, a temp
 * folder for pipeline files, the ingest-api as a child process (compiled `dist/main.js`, so it can
 * be SIGKILLed), and readers of what landed in TRIB_RAW and TRIB_DLQ.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DeliverPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { decodeNdjson, type Rec } from '@tributary/contract/codec';
import { H, STREAMS } from '@tributary/contract/wire';
import { DEFAULT_TOPOLOGY, ensureBuckets, ensureStreams } from '@tributary/runtime/nats';
import { freePort, NatsServer, spawnService, type ServiceProcess } from '@tributary/testkit';

const SERVICE = path.resolve(__dirname, '../dist/main.js');

/** One message read back from a stream. */
export interface ReadMessage {
  subject: string;
  msgId: string;
  records: Rec[];
  /** Its `Trib-Source-Time`, when it has one. */
  sourceTime?: string;
}

/** NATS, a pipelines folder, and helpers. */
export class SourceEnv {
  private constructor(
    readonly nats: NatsServer,
    readonly nc: NatsConnection,
    /** Temp folder: pipeline files go here (and anything else a test needs). */
    readonly dir: string,
  ) {}

  /** Starts NATS and creates the streams and KV buckets (what `migrate` does for JetStream). */
  static async start(): Promise<SourceEnv> {
    const nats = await NatsServer.start();
    const nc = await connect({ servers: nats.url });
    const jsm = await jetstreamManager(nc);
    await ensureStreams(jsm, { ...DEFAULT_TOPOLOGY, maxBytes: 512 * 1024 * 1024 });
    await ensureBuckets(nc, DEFAULT_TOPOLOGY);
    return new SourceEnv(nats, nc, mkdtempSync(path.join(tmpdir(), 'trib-src-')));
  }

  /** Writes `pipelines/<name>.yaml` and returns the pipelines folder. */
  writePipeline(name: string, yaml: string): string {
    const dir = path.join(this.dir, 'pipelines');
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, `${name}.yaml`), yaml);
    return dir;
  }

  /** Starts the compiled ingest-api on the pipelines folder; resolves once it is ready. */
  async spawnIngest(env: Record<string, string>): Promise<{ proc: ServiceProcess; port: number }> {
    const port = await freePort();
    const proc = await spawnService({
      name: 'ingest-api',
      script: SERVICE,
      env: {
        NATS_URL: this.nats.url,
        TRIBUTARY_PIPELINES: path.join(this.dir, 'pipelines'),
        INGEST_PORT: String(port),
        HOST: '127.0.0.1',
        INGEST_LEASE_TTL_MS: '1500',
        LOG_LEVEL: 'info',
        ...env,
      },
      readyUrl: `http://127.0.0.1:${port}/readyz`,
    });
    return { proc, port };
  }

  /** Every message on `subject` (a filter, e.g. `trib.raw.shop.>`) of `stream`, oldest first. */
  async read(stream: string, subject: string): Promise<ReadMessage[]> {
    const js = jetstream(this.nc);
    const c = await js.consumers.get(stream, { filter_subjects: subject, deliver_policy: DeliverPolicy.All });
    const out: ReadMessage[] = [];
    try {
      const info = await c.info(true);
      let left = info.num_pending;
      while (left > 0) {
        const batch = await c.fetch({ max_messages: Math.min(left, 500), expires: 2000 });
        for await (const m of batch) {
          const body =
            m.data.byteLength === 0 ? [] : m.headers?.get('Content-Type') === 'application/json' ? [m.json<Rec>()] : decodeNdjson(m.data);
          const sourceTime = m.headers?.get(H.sourceTime) || undefined;
          out.push({
            subject: m.subject,
            msgId: m.headers?.get('Nats-Msg-Id') ?? '',
            records: body,
            ...(sourceTime ? { sourceTime } : {}),
          });
          left = m.info.pending;
        }
      }
    } finally {
      await c.delete().catch(() => undefined);
    }
    return out;
  }

  /** Records published for a source, in stream order. */
  async raw(pipeline: string, source: string): Promise<ReadMessage[]> {
    return this.read(STREAMS.raw, `trib.raw.${pipeline}.${source}`);
  }

  /** Dead letters of a source's ingest stage (bodies are DeadLetter JSON). */
  async deadLetters(pipeline: string, source: string): Promise<Rec[]> {
    return (await this.read(STREAMS.dlq, `trib.dlq.${pipeline}.ingest.${source}`)).flatMap((m) => m.records);
  }

  /** Closes the connection and removes the temp folder (NATS is stopped by testkit's stopAll). */
  async close(): Promise<void> {
    await this.nc.close();
    if (!process.env.TRIBUTARY_KEEP_TMP) rmSync(this.dir, { recursive: true, force: true });
  }
}
