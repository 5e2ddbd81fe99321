#!/usr/bin/env node
/**
 * The `tributary` command: `migrate [--roles]`, `validate [path]`, `docs [outDir]`, `check [path]`, `models [path]`.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { commonEnv, readEnv, topologyEnv, topologyFromEnv } from './env-config';
import { isTributaryError } from './errors';
import { archiveEnv } from './archive/archive-config';
import { BACKFILL_USAGE, backfillCommand } from './archive/backfill-command';
import { createLogger } from './logger';
import { migrate } from './migrate';
import { checkCommand, modelsCommand } from './warehouse/checks/check-command';
import { loadPipelines } from './spec/load-pipeline';
import { pipelineJsonSchema, pipelineReferenceMarkdown } from './spec/reference-docs';

const USAGE = `usage: tributary <command>
  migrate [--roles]  create streams, consumers, KV buckets, database and tables (idempotent);
                     --roles also creates the least-privilege database roles (SECURITY.md)
  validate [path]    check pipeline specs (default: $TRIBUTARY_PIPELINES or ./pipelines)
  docs [dir]         write the JSON Schema and reference of the pipeline spec (default: ./docs)
  check [path]       run the data-quality checks; exit 1 when an error-severity check fails
  models [path]      run the SQL models in dependency order; exit 1 when one fails
  ${BACKFILL_USAGE}
                     republish archived batches with their original message IDs (README: Archive and backfill)`;

/** Writes generated docs into `dir`; returns the files written. */
export function writeDocs(dir: string): string[] {
  mkdirSync(path.join(dir, 'reference'), { recursive: true });
  const files = [path.join(dir, 'pipeline-spec.schema.json'), path.join(dir, 'reference', 'pipeline-spec.md')];
  writeFileSync(files[0]!, `${JSON.stringify(pipelineJsonSchema(), null, 2)}\n`);
  writeFileSync(files[1]!, pipelineReferenceMarkdown());
  return files;
}

async function main(argv: string[]): Promise<number> {
  const [cmd, arg] = argv;
  const env = readEnv(z.object({ ...commonEnv, ...topologyEnv, ...archiveEnv }));
  const logger = createLogger('tributary-cli', env.LOG_LEVEL);
  switch (cmd) {
    case 'migrate': {
      const unknown = argv.slice(1).filter((a) => a !== '--roles');
      if (unknown.length > 0) {
        process.stderr.write(`unknown argument to migrate: ${unknown.join(' ')}\n${USAGE}\n`);
        return 2;
      }
      const pipelines = loadPipelines(env.TRIBUTARY_PIPELINES);
      await migrate({
        natsUrl: env.NATS_URL,
        natsAuth: env,
        databaseUrl: env.DATABASE_URL,
        pipelines,
        topology: topologyFromEnv(env),
        logger,
        roles: argv.includes('--roles'),
        archiveAll: env.ARCHIVE_ALL,
      });
      return 0;
    }
    case 'validate': {
      const pipelines = loadPipelines(arg ?? env.TRIBUTARY_PIPELINES);
      for (const p of pipelines)
        process.stdout.write(
          `ok ${p.file}: pipeline ${p.name}, ${Object.keys(p.sources).length} sources, ${p.datasets.length} datasets, ${p.tables.length} tables\n`,
        );
      return 0;
    }
    case 'check':
    case 'models': {
      const pipelines = loadPipelines(arg ?? env.TRIBUTARY_PIPELINES);
      const run = cmd === 'check' ? checkCommand : modelsCommand;
      return run(env.DATABASE_URL, pipelines, (line) => process.stdout.write(`${line}\n`));
    }
    case 'backfill':
      return backfillCommand(argv.slice(1), env, (line) => process.stdout.write(`${line}\n`));
    case 'docs': {
      for (const f of writeDocs(arg ?? 'docs')) process.stdout.write(`wrote ${f}\n`);
      return 0;
    }
    default:
      process.stderr.write(`${USAGE}\n`);
      return cmd ? 2 : 0;
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`${isTributaryError(err) ? `${err.code}: ` : ''}${(err as Error).message}\n`);
      process.exit(1);
    },
  );
}
