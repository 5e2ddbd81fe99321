#!/usr/bin/env node
/**
 * The `tributary` command: reads the environment once, then dispatches to the subcommand named by
 * the first argument (`commands/registry.ts`). Usage errors exit 2, failures exit 1 with the
 * error's `TRIB_E_*` code.
 */
import { isTributaryError } from '@tributary/contract/errors';
import { createLogger } from '@tributary/runtime/logger';
import { UsageError, type Command } from './command';
import { COMMANDS } from './commands/registry';
import { readCliEnv } from './config';

/** The usage text, one entry per command (continuation lines indented under the summary). */
export function usage(commands: readonly Command[] = COMMANDS): string {
  const lines = ['usage: tributary <command>'];
  for (const c of commands) {
    const head = `  ${c.name} ${c.args}`;
    const [first, ...rest] = c.summary.split('\n');
    if (head.length < 21) lines.push(`${head.padEnd(21)}${first}`);
    else lines.push(head, `${' '.repeat(21)}${first}`);
    for (const r of rest) lines.push(`${' '.repeat(21)}${r}`);
  }
  return lines.join('\n');
}

async function main(argv: string[]): Promise<number> {
  const [name, ...args] = argv;
  const env = readCliEnv();
  const logger = createLogger('tributary-cli', env.LOG_LEVEL);
  const command = COMMANDS.find((c) => c.name === name);
  if (!command) {
    process.stderr.write(`${usage()}\n`);
    return name ? 2 : 0;
  }
  if (args.includes('--help') || args.includes('-h')) {
    process.stdout.write(
      `${usage([command])}\nexit codes: 0 ok, 1 a finding (failed check, unhealthy pipeline, record not handled), 2 usage or configuration error\n`,
    );
    return 0;
  }
  try {
    return await command.run(args, { env, logger, out: (line) => process.stdout.write(`${line}\n`) });
  } catch (err) {
    // A bad option (node:util parseArgs) is a usage error too.
    if (!(err instanceof UsageError) && (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS') !== true) throw err;
    process.stderr.write(`${(err as Error).message}\n${usage([command])}\n`);
    return 2;
  }
}

/** Runs the command line and exits with its code (the `tributary` bin, bin/tributary.js, calls this). */
export function runCli(argv: string[]): void {
  main(argv).then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`${isTributaryError(err) ? `${err.code}: ` : ''}${(err as Error).message}\n`);
      // A configuration error (a bad variable) is exit 2, like a usage error; anything else 1.
      process.exit(isTributaryError(err, 'TRIB_E_CONFIG') ? 2 : 1);
    },
  );
}

if (require.main === module) runCli(process.argv.slice(2));
