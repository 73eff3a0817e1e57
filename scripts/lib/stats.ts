/** Small statistics the tests and the bench share. */

/** The value at percentile `p` (0..100) of `values`, nearest rank; NaN for none. */
export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b)
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))
  return sorted[index] ?? NaN
}

/** The most moments within any window of `windowMs` (a sliding window, as a downstream counts its arrivals). */
export function mostInWindow(moments: readonly number[], windowMs: number): number {
  const sorted = [...moments].sort((a, b) => a - b)
  let most = 0
  for (let first = 0, last = 0; last < sorted.length; last++) {
    while ((sorted[last] ?? 0) - (sorted[first] ?? 0) >= windowMs) first++
    most = Math.max(most, last - first + 1)
  }
  return most
}
