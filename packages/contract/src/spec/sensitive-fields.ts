/**
 * The fields of a pipeline whose values are personal data, for masking where records are shown
 * (the monitor's dead-letter views): dataset fields marked `pii: true`, and every field a `map`
 * step pseudonymises with `$hmac(<field>)` (its raw value is what the pseudonym hides, and a dead
 * letter keeps the record as it arrived). By name: a dead letter's record may be a source record,
 * a record between steps or a row, so the same name is masked wherever it appears.
 */
import type { Pipeline } from './pipeline';

/** `$hmac(plate)`, `$hmac(card.number)`: the argument when it is a plain field path. */
const HMAC_ARGUMENT = /\$hmac\(\s*([A-Za-z_][\w]*(?:\.[A-Za-z_][\w]*)*)\s*[,)]/g;

/** Field names (the last segment of a path) to mask in `pipeline`'s records. */
export function sensitiveFields(pipeline: Pipeline): Set<string> {
  const out = new Set<string>();
  for (const d of pipeline.datasets) {
    for (const f of d.fields) if (f.pii) out.add(f.name);
    for (const step of d.steps) {
      if (step.kind !== 'map' || !step.config || typeof step.config !== 'object') continue;
      for (const expr of Object.values(step.config as Record<string, unknown>)) {
        if (typeof expr !== 'string') continue;
        for (const m of expr.matchAll(HMAC_ARGUMENT)) out.add(m[1]!.split('.').pop()!);
      }
    }
  }
  return out;
}

/** The mask a shown value gets. */
export const MASKED = '***';

/**
 * `value` with the value of every key in `fields` replaced by MASKED, at any depth (objects and
 * arrays; JSON text in a string is not parsed). A new value: the input is not changed.
 */
export function maskFields(value: unknown, fields: ReadonlySet<string>): unknown {
  if (fields.size === 0 || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((v) => maskFields(v, fields));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = fields.has(k) && v !== null && v !== undefined ? MASKED : maskFields(v, fields);
  return out;
}
