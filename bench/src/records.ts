/**
 * The benchmark record: the traffic passage (about 150 bytes of JSON), as pushed by a gantry.
 */

/** Passage `i`; always valid and never filtered, so every record lands. */
export function passage(i: number, runId: string): Record<string, unknown> {
  return {
    event_id: `${runId}-${i}`,
    gantry_id: `G${String((i % 20) + 1).padStart(3, '0')}`,
    plate: `AB${(i * 7919) % 100000}XY`,
    speed_mph: 30 + (i % 50) + 0.5,
    lane: (i % 4) + 1,
    passengers: (i % 5) + 1,
    observed_at: new Date(Date.UTC(2026, 10, 21, 8) + i).toISOString(),
  };
}

/** NDJSON bodies of `size` records each for records [0, n). */
export function ndjsonBatches(n: number, size: number, runId: string): string[] {
  const out: string[] = [];
  for (let s = 0; s < n; s += size) {
    const lines: string[] = [];
    for (let i = s; i < Math.min(n, s + size); i++) lines.push(JSON.stringify(passage(i, runId)));
    out.push(lines.join('\n'));
  }
  return out;
}

/** Percentile of sorted numbers. */
export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}
