import type { ChannelName } from '../notifications/delivery-log.ts'

/**
 * A channel's circuit breaker, as pure functions over its state: what a
 * record may do with the channel now, and the state each event leads to. The
 * clock is always given (`now`, epoch ms); where the state lives and how a
 * transition is made atomic is the store's business (breaker-store.ts).
 *
 * closed --(BREAKER_FAILURES different notifications fail in a row, or a
 * Retry-After)--> open --(the period ends)--> half-open: one probe delivery
 * --success--> closed (period back to its base) | --failure--> open again,
 * the period doubled up to BREAKER_MAX_OPEN_SECONDS.
 */
export type BreakerState = 'closed' | 'open' | 'half-open'

/** The one delivery allowed through a half-open breaker, and until when its claim holds (its invocation's deadline). */
export interface Probe {
  messageId: string
  claimedAt: number
  until: number
}

export interface Breaker {
  channel: ChannelName
  state: BreakerState
  /** The distinct notification ids that failed in a row, with no success between: the streak. */
  failing: string[]
  /** The current open period, seconds: the base, doubled by each failed probe. */
  openSeconds: number
  /** Epoch ms the open period ends; null when closed. */
  openUntil: number | null
  /** Counts the openings: a timer or a claim made for an earlier opening is ignored. */
  generation: number
  probe?: Probe
  /** Why it opened: "5 failures", "Retry-After", "probe failed". */
  reason?: string
  changedAt: number | null
}

export interface BreakerSettings {
  /** BREAKER_FAILURES: different notifications failing in a row that open it; 0 turns the breaker off. */
  failures: number
  /** BREAKER_OPEN_SECONDS: the first open period. */
  openSeconds: number
  /** BREAKER_MAX_OPEN_SECONDS: the longest, however many probes fail. */
  maxOpenSeconds: number
}

/** A downstream's Retry-After is honoured up to a day, however far it points. */
export const RETRY_AFTER_CAP_MS = 24 * 60 * 60 * 1000

export const breakerIsOff = (settings: BreakerSettings): boolean => settings.failures === 0

/** A breaker never written: closed, no streak, at its base period. */
export function closedBreaker(channel: ChannelName, settings: BreakerSettings): Breaker {
  return { channel, state: 'closed', failing: [], openSeconds: settings.openSeconds, openUntil: null, generation: 0, changedAt: null }
}

/**
 * What a record may do with the channel now: `call` it (closed), `wait` until
 * a moment (open, or a probe is out), or try to `probe` (the period is over
 * and no live claim holds the probe).
 */
export type Passage = { kind: 'call' } | { kind: 'wait'; until: number } | { kind: 'probe' }

/** How long a record waits while a probe is out: the probe's answer is due within a call's time. */
const PROBE_WAIT_MS = 1000

export function passage(breaker: Breaker, now: number): Passage {
  if (breaker.state === 'closed') return { kind: 'call' }
  if (breaker.state === 'open' && (breaker.openUntil ?? 0) > now) return { kind: 'wait', until: breaker.openUntil ?? now }
  if (breaker.probe && breaker.probe.until > now) return { kind: 'wait', until: now + PROBE_WAIT_MS }
  return { kind: 'probe' }
}

/** Does a streak of this many different notifications open the breaker? Never when it is off. */
export const streakOpens = (failingCount: number, settings: BreakerSettings): boolean => !breakerIsOff(settings) && failingCount >= settings.failures

/** Why the breaker opens, and what that makes its period. */
export type OpenCause =
  | { kind: 'streak' }
  /** The downstream asked for a pause (Retry-After): open until then (up to a day); the period itself does not grow. */
  | { kind: 'retry-after'; retryAt: number }
  /** The probe failed: the period doubles (up to the maximum), and a Retry-After on it is honoured too. */
  | { kind: 'probe-failed'; retryAt?: number }

export function opened(breaker: Breaker, now: number, settings: BreakerSettings, cause: OpenCause): Breaker {
  const openSeconds = cause.kind === 'probe-failed' ? Math.min(breaker.openSeconds * 2, settings.maxOpenSeconds) : breaker.openSeconds
  const periodEnds = now + openSeconds * 1000
  const askedFor = cause.kind === 'streak' ? undefined : cause.retryAt
  const asked = askedFor === undefined ? undefined : Math.min(askedFor, now + RETRY_AFTER_CAP_MS)
  const openUntil = cause.kind === 'retry-after' && asked !== undefined ? asked : Math.max(periodEnds, asked ?? 0)
  const reason = cause.kind === 'streak' ? `${settings.failures} failures` : cause.kind === 'retry-after' ? 'Retry-After' : 'probe failed'
  return { channel: breaker.channel, state: 'open', failing: [], openSeconds, openUntil, generation: breaker.generation + 1, reason, changedAt: now }
}

/** The probe's downstream answered: closed, with the period back to its base. */
export function closed(breaker: Breaker, now: number, settings: BreakerSettings): Breaker {
  return { channel: breaker.channel, state: 'closed', failing: [], openSeconds: settings.openSeconds, openUntil: null, generation: breaker.generation, changedAt: now }
}

/** The open period ended: one probe may go out. */
export function halfOpened(breaker: Breaker, now: number): Breaker {
  const { probe: _probe, ...rest } = breaker
  return { ...rest, state: 'half-open', changedAt: now }
}

/** This record holds the probe until `until`; a claim left by a crashed prober is taken over once its `until` passed. */
export function claimed(breaker: Breaker, messageId: string, now: number, until: number): Breaker {
  return { ...breaker, state: 'half-open', probe: { messageId, claimedAt: now, until }, changedAt: breaker.state === 'half-open' ? breaker.changedAt : now }
}

/** The probe was given back without calling the downstream (its delivery was already made elsewhere, say). */
export function released(breaker: Breaker): Breaker {
  const { probe: _probe, ...rest } = breaker
  return rest
}

/** Until when a record the breaker holds back waits: the open period's end, or a moment while a probe is out. */
export function heldUntil(breaker: Breaker, now: number): number {
  const route = passage(breaker, now)
  return route.kind === 'wait' ? route.until : now + PROBE_WAIT_MS
}
