/**
 * The fault classes of the chaos run, each an async function that injects one fault and returns
 * once the system has been given back what it needs to recover (a restarted process, a restored
 * setting): it is up to the services to recover by themselves. Durations scale with the run
 * (`outageMs`), so the one-minute CI run refuses PostgreSQL for 10 s and the ten-minute run for 60 s.
 */
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { STREAMS } from '@tributary/contract/wire';
import { waitFor } from '@tributary/testkit';
import type { ServiceName } from '../../e2e/stack';
import type { ChaosStack } from './chaos-stack';
import { PgRefusal } from './pg-refusal';
import type { SteadyLoad } from './steady-load';

/** One fault class: its name and how to inject it (returns what to add to the report line). */
export interface FaultClass {
  kind: string;
  inject: () => Promise<string | void>;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const SERVICES: ServiceName[] = ['ingest-api', 'transformer', 'loader', 'monitor'];

/** Bytes stored in TRIB_RAW now. */
async function rawStreamBytes(natsUrl: string): Promise<number> {
  const nc = await connect({ servers: natsUrl, reconnect: false });
  try {
    const info = await (await jetstreamManager(nc)).streams.info(STREAMS.raw);
    return info.state.bytes;
  } finally {
    await nc.close();
  }
}

/** Every fault class of the run. */
export function faultClasses(sys: ChaosStack, load: SteadyLoad, random: () => number, outageMs: number): FaultClass[] {
  const { stack } = sys;
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)]!;
  return [
    {
      kind: 'sigkill',
      inject: async () => {
        const s = pick(SERVICES);
        await stack.kill(s);
        await stack.startService(s);
        return s;
      },
    },
    {
      kind: 'sigkill-two',
      inject: async () => {
        const a = pick(SERVICES);
        const b = pick(SERVICES.filter((x) => x !== a));
        await Promise.all([stack.kill(a), stack.kill(b)]);
        await stack.startService(a);
        await stack.startService(b);
        return `${a} and ${b} at once`;
      },
    },
    {
      kind: 'sigstop',
      inject: async () => {
        // Ack wait is 3 s: the paused consumer's messages are redelivered meanwhile.
        const s = pick<ServiceName>(['ingest-api', 'transformer', 'loader']);
        const ms = 5_000 + Math.floor(random() * 3_000);
        stack.procs.get(s)!.kill('SIGSTOP');
        await sleep(ms);
        stack.procs.get(s)!.kill('SIGCONT');
        return `${s} paused ${(ms / 1000).toFixed(1)} s (ack wait 3 s)`;
      },
    },
    {
      kind: 'nats-restart',
      inject: async () => {
        await stack.nats.stop();
        await sleep(500 + random() * 1500);
        await stack.nats.restart();
      },
    },
    {
      kind: 'warehouse-pg-crash',
      inject: async () => {
        await stack.pg.kill();
        await sleep(500 + random() * 1500);
        await stack.pg.restart();
        return 'SIGKILL of the postmaster, crash recovery on restart';
      },
    },
    {
      kind: 'source-pg-crash',
      inject: async () => {
        await sys.bank.server.kill();
        await sleep(500 + random() * 1500);
        await sys.bank.server.restart();
        return 'CDC source database SIGKILLed mid-replication, restarted';
      },
    },
    {
      kind: 'warehouse-pg-refuses',
      inject: async () => {
        const refusal = await PgRefusal.begin(stack.pg);
        try {
          await sleep(outageMs);
        } finally {
          await refusal.restore();
        }
        return `pg_hba rejects every TCP login for ${outageMs / 1000} s, ${refusal.terminated} sessions terminated`;
      },
    },
    {
      kind: 'raw-stream-full',
      inject: async () => {
        // The operator caps TRIB_RAW a few MiB above what it holds (never below: a cap under the
        // stored size makes JetStream delete the oldest messages), the load runs into it, and
        // after a while the cap is raised again, both through the real `migrate` command.
        const before = load.push.streamFull;
        const cap = (await rawStreamBytes(stack.nats.url)) + 4 * 1024 * 1024;
        await stack.cli(['migrate'], { TRIBUTARY_RAW_MAX_BYTES: String(cap) });
        try {
          await waitFor(async () => load.push.streamFull > before, {
            timeoutMs: 60_000,
            intervalMs: 200,
            what: 'the push client to get 503 stream full',
          });
          await sleep(2_000 + random() * 2_000);
        } finally {
          await stack.cli(['migrate']);
        }
        return `capped at ${(cap / 1024 ** 2).toFixed(1)} MiB; client got ${load.push.streamFull - before} × 503 "stream full", then the cap was lifted`;
      },
    },
    {
      kind: 'rest-cut-mid-page',
      inject: async () => {
        const n = 1 + Math.floor(random() * 3);
        const before = sys.api.cutsDone;
        sys.api.cut(n);
        await waitFor(async () => sys.api.cutsPending === 0, { timeoutMs: 30_000, intervalMs: 100, what: `${n} REST answers to be cut` });
        return `${sys.api.cutsDone - before} responses cut mid-body (socket destroyed after half the page)`;
      },
    },
  ];
}
