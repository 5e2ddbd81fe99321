/**
 * The shape of one `tributary` subcommand. Each lives in `commands/<name>.ts` and is listed once in
 * `commands/registry.ts`; `cli.ts` only dispatches.
 */
import type { Logger } from '@tributary/runtime/logger';
import type { CliEnv } from './config';

/** What a command runs with. */
export interface CommandContext {
  env: CliEnv;
  logger: Logger;
  /** Writes one line to stdout. */
  out: (line: string) => void;
}

/** One subcommand: `tributary <name> ...args`. */
export interface Command {
  name: string;
  /** The arguments after the name, as shown in the usage text. */
  args: string;
  /** What it does, for the usage text (may span lines). */
  summary: string;
  /** Runs the command; resolves with the process exit code. */
  run(args: string[], ctx: CommandContext): Promise<number>;
}

/** A usage error: the message and the usage text on stderr, exit code 2. */
export class UsageError extends Error {}
