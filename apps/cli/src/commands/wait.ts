/** `tributary wait [timeout]`: blocks until migrate has created the topology (the services' init container). */
import { loadPipelines, parseDuration } from '@tributary/contract/spec';
import type { Command } from '../command';
import { waitForMigrate } from '../wait-for-migrate';

/** The `wait` command. */
export const waitCommand: Command = {
  name: 'wait',
  args: '[timeout]',
  summary: "wait until migrate has created the topology of the pipelines (default 10m;\nthe services' init container)",
  async run(args, { env, logger }) {
    // PID 1 in a container: without a handler SIGTERM would be ignored until the grace period ends.
    process.once('SIGTERM', () => process.exit(143));
    await waitForMigrate({
      natsUrl: env.NATS_URL,
      natsAuth: env,
      pipelines: loadPipelines(env.TRIBUTARY_PIPELINES),
      timeoutMs: parseDuration(args[0] ?? '10m'),
      logger,
    });
    return 0;
  },
};
