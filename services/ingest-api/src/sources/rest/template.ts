/**
 * `{{ path }}` templates of the rest source's request (path, query, headers, body). A path is
 * dotted with optional `[n]` indexes (`parent.location.latitude`, `parent.venues[0].id`), looked
 * up in the bindings; nothing else is evaluated, so a template cannot run code.
 */

const PLACEHOLDER = /\{\{\s*([A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*|\[\d+\])*)\s*\}\}/g;

/** Looks up a dotted path (`a.b[0].c`) in `root`; undefined when any step is missing. */
export function lookupPath(root: unknown, path: string): unknown {
  let cur: unknown = root;
  for (const step of path.match(/[^.[\]]+/g) ?? []) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[step];
  }
  return cur;
}

/** The placeholders a template names (for validating specs up front). */
export function placeholders(text: string): string[] {
  return [...text.matchAll(PLACEHOLDER)].map((m) => m[1]!);
}

/**
 * Replaces each `{{ path }}` with its value from `bindings` (objects as JSON, missing values as
 * an empty string); `encode` is applied to each value (e.g. encodeURIComponent in URL paths).
 */
export function renderTemplate(text: string, bindings: Record<string, unknown>, encode: (s: string) => string = (s) => s): string {
  return text.replace(PLACEHOLDER, (_m, path: string) => {
    const v = lookupPath(bindings, path);
    if (v === undefined || v === null) return '';
    return encode(typeof v === 'object' ? JSON.stringify(v) : String(v));
  });
}

/** Renders every string inside a JSON value (a POST body), leaving other values as they are. */
export function renderDeep(value: unknown, bindings: Record<string, unknown>): unknown {
  if (typeof value === 'string') return renderTemplate(value, bindings);
  if (Array.isArray(value)) return value.map((v) => renderDeep(v, bindings));
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, renderDeep(v, bindings)]));
  }
  return value;
}
