/**
 * `tributary wait`: blocks until `migrate` has created the topology of the pipelines (the five
 * streams, every pipeline's and the monitor's consumers, the KV buckets; migrate creates them
 * after the database tables, so their presence means it finished). The chart and the kustomize
 * base run it as each service's init container: when migrate runs beside the services (the
 * chart's own NATS and PostgreSQL, an Argo CD sync), a pod waits in `Init` instead of
 * crash-looping into a long back-off.
 */
import { jetstreamManager } from '@nats-io/jetstream';
import type { Logger } from 'pino';
import { BUCKETS, STREAMS } from '@tributary/contract/wire';
import { isTributaryError } from '@tributary/contract/errors';
import { type Pipeline } from '@tributary/contract/spec';
import { checkTopology, connectNats, monitorConsumers, pipelineConsumers, type NatsAuth } from '@tributary/runtime/nats';

/** Inputs of `waitForMigrate`. */
export interface WaitOptions {
  natsUrl: string;
  natsAuth?: NatsAuth;
  pipelines: Pipeline[];
  /** Give up after this long (TRIB_E_TOPOLOGY_MISSING / TRIB_E_UNAVAILABLE from the last try). */
  timeoutMs: number;
  /** Pause between tries. */
  intervalMs?: number;
  logger: Logger;
}

/** Resolves once the topology exists; rejects with the last error after `timeoutMs`. */
export async function waitForMigrate(opts: WaitOptions): Promise<void> {
  const deadline = Date.now() + opts.timeoutMs;
  const need = {
    streams: [...Object.values(STREAMS), ...Object.values(BUCKETS).map((b) => `KV_${b}`)],
    consumers: [...monitorConsumers(), ...opts.pipelines.flatMap(pipelineConsumers)],
  };
  let lastLogged = 0;
  for (;;) {
    try {
      const nc = await connectNats(opts.natsUrl, 'tributary-wait', opts.natsAuth);
      try {
        await checkTopology(await jetstreamManager(nc, { timeout: 5_000 }), need);
        opts.logger.info('migrate has run: the topology is in place');
        return;
      } finally {
        await nc.close().catch(() => undefined);
      }
    } catch (err) {
      if (Date.now() >= deadline) throw err;
      if (Date.now() - lastLogged >= 10_000) {
        lastLogged = Date.now();
        opts.logger.info({ code: isTributaryError(err) ? err.code : undefined }, `waiting for migrate: ${(err as Error).message}`);
      }
    }
    await new Promise((resolve) => setTimeout(resolve, opts.intervalMs ?? 1_000));
  }
}
