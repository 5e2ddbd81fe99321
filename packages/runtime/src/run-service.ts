/**
 * The one entry shape of every service's `main.ts`: start, then drain on SIGTERM/SIGINT, and exit
 * non-zero with the error code when start-up fails.
 */
import type { Logger } from 'pino';
import { isTributaryError } from '@tributary/contract';

/** Something that can be stopped gracefully. */
export interface Stoppable {
  stop(): Promise<void>;
}

/** Starts a service and wires signal handling; never returns a rejected promise. */
export async function runService(name: string, logger: Logger, start: () => Promise<Stoppable>): Promise<void> {
  let running: Stoppable;
  try {
    running = await start();
  } catch (err) {
    logger.fatal({ err, code: isTributaryError(err) ? err.code : undefined }, `${name} failed to start: ${(err as Error).message}`);
    // Give pino a tick to flush before exiting.
    setTimeout(() => process.exit(1), 50);
    return;
  }
  let stopping = false;
  const shutdown = (signal: string): void => {
    if (stopping) {
      logger.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    stopping = true;
    logger.info({ signal }, `${name} draining`);
    const timer = setTimeout(() => {
      logger.error('drain timed out after 25 s; exiting');
      process.exit(1);
    }, 25_000);
    timer.unref();
    running.stop().then(
      () => {
        logger.info(`${name} stopped`);
        process.exit(0);
      },
      (err: unknown) => {
        logger.error({ err }, 'error while draining');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}
