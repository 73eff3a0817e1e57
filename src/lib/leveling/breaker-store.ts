import type { ChannelName } from '../notifications/delivery-log.ts'
import type { Breaker } from './breaker.ts'

/** The operator's pause of the consumer; the breaker never clears it. */
export interface OperatorPause {
  pausedBy: 'operator' | null
  /** Epoch ms. */
  pausedAt?: number
  /** Who paused (the operator's name or ARN, as the command found it). */
  by?: string
}

/** What decides whether the consumer may run: every channel's breaker and the operator's pause. */
export interface LevelingState {
  breakers: Partial<Record<ChannelName, Breaker>>
  pause: OperatorPause
}

/**
 * Where the breakers and the pause live, shared by every invocation
 * (deployed: DynamoDB; locally the sandbox's). Every change is conditional on
 * what the writer saw, so concurrent invocations never overwrite each other's
 * transitions: the loser reads again.
 */
export interface BreakerStore {
  /** The channels' breakers (a never-written one is closed) and the pause, read consistently. */
  read(channels: readonly ChannelName[]): Promise<LevelingState>
  /**
   * Adds a notification id to the streak of a closed breaker of that
   * generation; resolves to the streak's size after, or undefined when the
   * breaker is no longer closed at that generation.
   */
  addFailure(channel: ChannelName, generation: number, notificationId: string): Promise<number | undefined>
  /** Ends a closed breaker's streak; false when it has moved on. */
  clearFailures(channel: ChannelName, generation: number): Promise<boolean>
  /** Replaces `expected` by `next` if the breaker still is `expected` (state, generation and probe); false otherwise. */
  transition(expected: Breaker, next: Breaker): Promise<boolean>
  /** Sets or clears the operator's pause (the last writer wins; a reconcile follows every write). */
  setPause(pause: OperatorPause): Promise<void>
}
