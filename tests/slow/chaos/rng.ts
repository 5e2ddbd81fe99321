/**
 * A small deterministic PRNG (a linear congruential generator), so a chaos run's choices of
 * faults, moments and targets repeat with the same CHAOS_SEED.
 */

/** Returns a function yielding numbers in [0, 1) from `seed`. */
export function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}
