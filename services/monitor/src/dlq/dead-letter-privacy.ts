/**
 * Personal data in dead letters as the API shows them: for a caller without the admin token, the
 * values of a pipeline's sensitive fields (`pii: true`, or pseudonymised with `$hmac`; see
 * `sensitiveFields` in @tributary/contract) are masked in the record, the origin and the error
 * message and details. The stored dead letter keeps them in clear (a fix and a replay need them): SECURITY.md
 * says what is stored where.
 */
import { MASKED, maskFields, sensitiveFields, type Pipeline } from '@tributary/contract/spec';
import type { DeadLetterView } from '@tributary/contract/monitor-api';

/** Values this short are not searched for in messages (a "1" would mask every digit). */
const MIN_MASKED_TEXT = 3;

/** The string forms of the values at `fields` in `value`, at any depth. */
function sensitiveValues(value: unknown, fields: ReadonlySet<string>, out: Set<string> = new Set()): Set<string> {
  if (value === null || typeof value !== 'object') return out;
  for (const [k, v] of Object.entries(value)) {
    if (fields.has(k) && (typeof v === 'string' || typeof v === 'number') && String(v).length >= MIN_MASKED_TEXT) out.add(String(v));
    else sensitiveValues(v, fields, out);
  }
  return out;
}

/** Masks dead letters per their pipeline's sensitive fields. */
export function deadLetterMasker(pipelines: readonly Pipeline[]): (d: DeadLetterView) => DeadLetterView {
  const fields = new Map(pipelines.map((p) => [p.name, sensitiveFields(p)]));
  return (d) => {
    const f = fields.get(d.pipeline);
    if (!f || f.size === 0) return d;
    const values = [...sensitiveValues(d.record, f)];
    const mask = <T extends string | null | undefined>(text: T): T => {
      let out: string | null | undefined = text;
      if (out) for (const v of values) out = out.split(v).join(MASKED);
      return out as T;
    };
    const error = { ...d.error, message: mask(d.error.message) };
    if (d.error.details) error.details = d.error.details.map((x) => (x.message ? { ...x, message: mask(x.message) } : x));
    return { ...d, record: maskFields(d.record, f), original: maskFields(d.original, f), error };
  };
}
