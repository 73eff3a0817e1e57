import type { ChannelName } from '../notifications/delivery-log.ts'
import type { BreakerState } from './breaker.ts'
import type { LevelingState } from './breaker-store.ts'
import type { ConsumerControl } from './consumer-control.ts'
import { pausedBy, type PausedBy, type Reconciled } from './reconcile.ts'

/**
 * The operator's side of adaptive leveling, shared by `npm run consumer` and
 * the local dashboard's Pause and Resume: the same pause item, the same
 * reconcile, the same reading of the breakers. Where the store and the
 * mapping are (local or a stage) is the caller's business.
 */

/** How long a pause or resume waits for the mapping to take it (a Disabling mapping finishes its batches first). */
export const OPERATOR_RECONCILE_MS = 90_000

/** Pauses the consumer for `by` (who, as the pause records it); no breaker lifts it. */
export function pauseConsumer(target: { control: ConsumerControl }, by: string, now: number = Date.now()): Promise<Reconciled> {
  return target.control.setOperatorPause({ pausedBy: 'operator', pausedAt: now, by }, now + OPERATOR_RECONCILE_MS)
}

/** Lifts the operator's pause; an open breaker still holds the consumer. */
export function resumeConsumer(target: { control: ConsumerControl }, now: number = Date.now()): Promise<Reconciled> {
  return target.control.setOperatorPause({ pausedBy: null }, now + OPERATOR_RECONCILE_MS)
}

export interface BreakerStatus {
  state: BreakerState
  /** Epoch ms the open period ends; null when closed. */
  until: number | null
  consecutiveFailures: number
}

export interface LevelingStatus {
  /** Someone holds the consumer paused. */
  paused: boolean
  pausedBy: PausedBy
  /** The operator's pause: since when and by whom. */
  operator?: { at?: number; by?: string }
  breakers: Record<ChannelName, BreakerStatus>
}

/** The leveling state as an operator reads it: who holds the consumer, and each channel's breaker (a never-written one is closed). */
export function levelingStatus(state: LevelingState, channels: readonly ChannelName[]): LevelingStatus {
  const by = pausedBy(state)
  const breakers = Object.fromEntries(
    channels.map((channel) => {
      const breaker = state.breakers[channel]
      return [channel, { state: breaker?.state ?? 'closed', until: breaker?.openUntil ?? null, consecutiveFailures: breaker?.failing.length ?? 0 }]
    }),
  ) as Record<ChannelName, BreakerStatus>
  const { pause } = state
  return {
    paused: by !== null,
    pausedBy: by,
    ...(pause.pausedBy === 'operator' && { operator: { ...(pause.pausedAt !== undefined && { at: pause.pausedAt }), ...(pause.by !== undefined && { by: pause.by }) } }),
    breakers,
  }
}

/** What a pause or resume left, in a sentence: `npm run consumer` prints it, the dashboard shows it. */
export function describeReconciled(action: 'pause' | 'resume', result: Reconciled): string {
  const state = result.enabled
    ? 'consuming'
    : `paused by ${result.pausedBy === 'breaker' ? 'a breaker (it resumes for the probe when the period ends)' : 'the operator'}`
  return `${action === 'pause' ? 'Paused' : 'Resumed'}: the consumer is ${state}.`
}
