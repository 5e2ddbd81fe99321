/**
 * Deterministic test passages: record `i` is invalid when `i % 100 === 7` (1%, rejected by the
 * source schema) and stationary (speed 0, filtered by the pipeline) when `i % 50 === 3` (2%).
 */

/** Whether record `i` fails the source schema. */
export const isInvalid = (i: number): boolean => i % 100 === 7;
/** Whether record `i` is filtered out by `speed_kmh > 0`. */
export const isFiltered = (i: number): boolean => !isInvalid(i) && i % 50 === 3;

/** Record `i`. */
export function passage(i: number): Record<string, unknown> {
  const rec: Record<string, unknown> = {
    event_id: `e-${i}`,
    gantry_id: `G${String((i % 20) + 1).padStart(3, '0')}`,
    plate: `PL${i % 100_000}`,
    speed_mph: isFiltered(i) ? 0 : 30 + (i % 50),
    lane: (i % 4) + 1,
    passengers: (i % 5) + 1,
    observed_at: new Date(Date.UTC(2026, 10, 21, 8, 0, 0) + i * 10).toISOString(),
  };
  if (isInvalid(i)) rec.lane = 0; // minimum is 1
  return rec;
}

/** NDJSON of records `from` .. `from + n - 1`. */
export function ndjson(from: number, n: number): string {
  const lines: string[] = [];
  for (let i = from; i < from + n; i++) lines.push(JSON.stringify(passage(i)));
  return lines.join('\n');
}

/** Expected counts for records `0 .. n - 1`. */
export function expected(n: number): { invalid: number; filtered: number; loaded: number } {
  let invalid = 0;
  let filtered = 0;
  for (let i = 0; i < n; i++) {
    if (isInvalid(i)) invalid++;
    else if (isFiltered(i)) filtered++;
  }
  return { invalid, filtered, loaded: n - invalid - filtered };
}
