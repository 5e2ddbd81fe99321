/**
 * Keys of the `trib_state` KV bucket. KV keys allow only `[-/_=.A-Za-z0-9]`, so record values are
 * hashed; the prefix names the pipeline, dataset and step so `nats kv ls` stays readable.
 */
import { createHash } from 'node:crypto';

/** `<kind>.<pipeline>.<dataset>.<step>.<hash of values>`. */
export function stateKey(kind: string, pipeline: string, dataset: string, step: number | string, values: unknown[]): string {
  const h = createHash('sha256').update(JSON.stringify(values)).digest('base64url').slice(0, 32);
  return `${kind}.${pipeline}.${dataset}.${step}.${h}`;
}
