/**
 * `tributary test [path ...] [--pipeline NAME]`: the pipeline unit tests in `<pipelines>/tests/`
 * (format in docs/transforms.md), run offline: no NATS, no warehouse. The steps are the
 * transformer's, and no app imports a service (ARCHITECTURE.md, layering), so this command runs the
 * transformer's own test mode (`main.js --test`) as a child process with the same arguments and
 * passes its output and exit code through: 0 every case passed, 1 a case failed, 2 a test file or
 * pipeline could not be loaded. It needs the transformer package, as in a checkout.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import type { Command } from '../command';
import { UsageError } from '../command';

/** The transformer's entry, found through the workspace link (absent in the loader image). */
function transformerEntry(): string {
  try {
    return path.join(path.dirname(require.resolve('@tributary/transformer/package.json')), 'dist/main.js');
  } catch {
    throw new UsageError(
      'tributary test needs the transformer package (@tributary/transformer): run it in a checkout after `npm run build`',
    );
  }
}

/** The `test` command. */
export const testCommand: Command = {
  name: 'test',
  args: '[path ...] [--pipeline NAME]',
  summary: 'run the pipeline unit tests in <pipelines>/tests/ offline; exit 1 when a case fails',
  run: (args, { env }) =>
    new Promise<number>((resolve, reject) => {
      const child = spawn(process.execPath, [transformerEntry(), '--test', ...args], {
        stdio: 'inherit',
        env: { ...process.env, TRIBUTARY_PIPELINES: env.TRIBUTARY_PIPELINES },
      });
      child.on('error', reject);
      child.on('exit', (code, signal) => resolve(code ?? (signal ? 2 : 0)));
    }),
};
