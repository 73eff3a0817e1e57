/**
 * HTTP's `Retry-After` (RFC 9110, section 10.2.3): a whole number of seconds,
 * or an HTTP date. Returns the moment (epoch ms) the downstream asked to be
 * called again, or undefined for a missing or unreadable value; a moment
 * already past is `now`. Callers cap it (a breaker at 24 h, SQS at 12 h).
 */
export function retryAfterMoment(value: string | null | undefined, now: number): number | undefined {
  const text = value?.trim()
  if (!text) return undefined
  if (/^\d+$/.test(text)) {
    const seconds = Number(text)
    return Number.isSafeInteger(seconds) ? now + seconds * 1000 : undefined
  }
  // IMF-fixdate, and the obsolete RFC 850 and asctime forms, all of which Date.parse reads; a bare number or a stray word is not a date.
  if (!/[a-z]/i.test(text) || !/\d{1,2}:\d{2}:\d{2}/.test(text)) return undefined
  const at = Date.parse(text)
  return Number.isFinite(at) ? Math.max(at, now) : undefined
}
