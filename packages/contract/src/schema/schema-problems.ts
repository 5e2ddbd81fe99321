/**
 * Every reason a record does not fit its schema, not only the first: a record with three bad
 * fields is fixed once, not three times. The list is capped at `MAX_RECORD_PROBLEMS`; the summary
 * says how many more there were ("… and N more"). Used by every schema language
 * (`record-schema.ts`, `json-schema.ts`), and carried by ingest replies and dead letters.
 */

/** Why a record does not fit a schema. */
export interface SchemaProblem {
  field?: string;
  message: string;
}

/** Problems reported per record at most; the rest are counted. */
export const MAX_RECORD_PROBLEMS = 20;

/**
 * Every problem of a record: `problem` sums them up (the first field, one message naming all of
 * them), `problems` lists them one by one (at most MAX_RECORD_PROBLEMS), `more` counts those left
 * out.
 */
export interface SchemaProblems {
  problem: SchemaProblem;
  problems: SchemaProblem[];
  more?: number;
}

/** The marker closing a capped list. */
export function moreMarker(more: number): string {
  return `… and ${more} more`;
}

/** Sums up `all` (at least one) problems of a record, keeping the first MAX_RECORD_PROBLEMS. */
export function summariseProblems(all: readonly SchemaProblem[]): SchemaProblems {
  // One reason once: a schema may say the same thing twice (ajv's anyOf branches).
  const seen = new Set<string>();
  const unique = all.filter((p) => {
    const key = `${p.field ?? ''}\u0000${p.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
  const problems = unique.slice(0, MAX_RECORD_PROBLEMS);
  const more = unique.length - problems.length;
  const first = problems[0]!;
  const message =
    problems.length === 1
      ? first.message
      : `${unique.length} problems: ${problems.map((p) => p.message).join('; ')}${more > 0 ? `; ${moreMarker(more)}` : ''}`;
  return {
    problem: { ...(first.field !== undefined ? { field: first.field } : {}), message },
    problems,
    ...(more > 0 ? { more } : {}),
  };
}
