/** `tributary models [path]`: builds the pipelines' SQL models now, in dependency order. */
import { loadPipelines } from '@tributary/contract/spec';
import { modelsCommand } from '@tributary/warehouse/checks';
import type { Command } from '../command';

/** The `models` command. */
export const modelsCliCommand: Command = {
  name: 'models',
  args: '[path]',
  summary: 'run the SQL models in dependency order; exit 1 when one fails',
  run: ([dir], { env, out }) => modelsCommand(env.DATABASE_URL, loadPipelines(dir ?? env.TRIBUTARY_PIPELINES), out),
};
