/**
 * transformer entry point: telemetry, config, the app, drained on SIGTERM (runService); or, offline
 * (no telemetry, no servers): `--dry-run`, a pipeline's steps over a sample file, printed; `--test`,
 * the pipeline unit tests (`tributary test` runs this).
 */
import { runService } from '@tributary/runtime/run-service';
import { createApp } from './app';
import { loadConfig } from './config';
import { dryRun } from './dry-run';
import { runPipelineTests } from './pipeline-tests/run-tests';

const offline: Record<string, (args: string[], out: (line: string) => void) => Promise<number>> = {
  '--dry-run': dryRun,
  '--test': (args, out) => runPipelineTests(args, out, process.env.TRIBUTARY_PIPELINES ?? 'pipelines'),
};
const mode = offline[process.argv[2] ?? ''];
if (mode) {
  mode(process.argv.slice(3), (line) => process.stdout.write(`${line}\n`)).then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`${(err as Error).message}\n`);
      process.exit(1);
    },
  );
} else {
  runService({ name: 'transformer', loadConfig, createApp });
}
