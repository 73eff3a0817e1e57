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
