/** `tributary migrate [--roles]`: creates streams, consumers, KV buckets, the database and tables. */
import { loadPipelines } from '@tributary/contract/spec';
import { topologyFromEnv } from '@tributary/runtime/env-config';
import { UsageError, type Command } from '../command';
import { migrate } from '../migrate';

/** The `migrate` command. */
export const migrateCommand: Command = {
  name: 'migrate',
  args: '[--roles]',
  summary:
    'create streams, consumers, KV buckets, database and tables (idempotent);\n--roles also creates the least-privilege database roles (SECURITY.md)',
  async run(args, { env, logger }) {
    const unknown = args.filter((a) => a !== '--roles');
    if (unknown.length > 0) throw new UsageError(`unknown argument to migrate: ${unknown.join(' ')}`);
    await migrate({
      natsUrl: env.NATS_URL,
      natsAuth: env,
      databaseUrl: env.DATABASE_URL,
      pipelines: loadPipelines(env.TRIBUTARY_PIPELINES),
      topology: topologyFromEnv(env),
      logger,
      roles: args.includes('--roles'),
      archiveAll: env.ARCHIVE_ALL,
      natsMonitorUrls: env.NATS_MONITOR_URLS,
    });
    return 0;
  },
};
