/**
 * `push` source: records arrive over HTTP (see app.ts); nothing runs in the background.
 */
import { pushSourceSpec } from '@tributary/contract';
import type { SourceFactory } from './source';

/** Config shape of the push source (from the core spec). */
export const spec = pushSourceSpec;

/** Push sources have no background work: the HTTP route does the ingesting. */
export const create: SourceFactory<typeof spec> = () => ({
  async start() {},
  async stop() {},
});
