/** `tributary validate [path]`: loads and checks pipeline specs without running anything. */
import { loadPipelines } from '@tributary/contract';
import type { Command } from '../command';

/** The `validate` command. */
export const validateCommand: Command = {
  name: 'validate',
  args: '[path]',
  summary: 'check pipeline specs (default: $TRIBUTARY_PIPELINES or ./pipelines)',
  async run([dir], { env, out }) {
    for (const p of loadPipelines(dir ?? env.TRIBUTARY_PIPELINES))
      out(
        `ok ${p.file}: pipeline ${p.name}, ${Object.keys(p.sources).length} sources, ${p.datasets.length} datasets, ${p.tables.length} tables`,
      );
    return 0;
  },
};
