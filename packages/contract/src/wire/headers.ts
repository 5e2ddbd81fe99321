/**
 * Message header names (docs/design.md, Wire contract) and helpers to read them.
 */
import { headers as natsHeaders, type MsgHdrs } from '@nats-io/nats-core';

/** Header names carried by Tributary messages. */
export const H = {
  pipeline: 'Trib-Pipeline',
  source: 'Trib-Source',
  dataset: 'Trib-Dataset',
  count: 'Trib-Count',
  ingestedAt: 'Trib-Ingested-At',
  /** The oldest source time of the batch's records, canonical RFC 3339 with microseconds (`source-time.ts`). */
  sourceTime: 'Trib-Source-Time',
  schema: 'Trib-Schema-Fingerprint',
  contentType: 'Content-Type',
  /** Records of the input batch a transformer step filtered out for this dataset. */
  filtered: 'Trib-Filtered',
  /**
   * Of `Trib-Filtered`, records the pipeline counts elsewhere: sent on by a route step, or taken by
   * another dataset of the same source (each dataset of a CDC source filters the other tables'
   * rows). The pipeline's filtered count is filtered minus routed (docs/design.md, Counting invariant).
   */
  routed: 'Trib-Routed',
  /** Message ID of the batch this one was derived from. */
  inputId: 'Trib-Input-Id',
  /** Part index and count when a body was split over several messages. */
  part: 'Trib-Part',
  stage: 'Trib-Stage',
  name: 'Trib-Name',
  errorCode: 'Trib-Error-Code',
  replayOf: 'Trib-Replay-Of',
  table: 'Trib-Table',
  /** Models that scored the records of a processed message (`model` steps): `<name>@<version> sha256:<hex>`, comma-separated. */
  model: 'Trib-Model',
} as const;

/** A mutable header set. */
export type Headers = MsgHdrs;

/** Creates headers from a plain map, skipping undefined values. */
export function makeHeaders(values: Record<string, string | number | undefined>): MsgHdrs {
  const h = natsHeaders();
  for (const [k, v] of Object.entries(values)) if (v !== undefined) h.set(k, String(v));
  return h;
}

/** Reads a header as a string, or undefined. */
export function header(h: MsgHdrs | undefined, name: string): string | undefined {
  const v = h?.get(name);
  return v === undefined || v === '' ? undefined : v;
}

/** Reads a numeric header, or `fallback`. */
export function numberHeader(h: MsgHdrs | undefined, name: string, fallback = 0): number {
  const v = header(h, name);
  const n = v === undefined ? NaN : Number(v);
  return Number.isFinite(n) ? n : fallback;
}
