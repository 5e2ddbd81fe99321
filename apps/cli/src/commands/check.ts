/** `tributary check [path]`: runs the pipelines' data-quality checks against the warehouse. */
import { loadPipelines } from '@tributary/contract/spec';
import { checkCommand } from '@tributary/warehouse/checks';
import type { Command } from '../command';

/** The `check` command. */
export const checkCliCommand: Command = {
  name: 'check',
  args: '[path]',
  summary: 'run the data-quality checks; exit 1 when an error-severity check fails',
  run: ([dir], { env, out }) => checkCommand(env.DATABASE_URL, loadPipelines(dir ?? env.TRIBUTARY_PIPELINES), out),
};
