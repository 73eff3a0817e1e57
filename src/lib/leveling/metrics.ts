import type { ChannelName } from '../notifications/delivery-log.ts'
import type { PausedBy } from './reconcile.ts'

/** What adaptive leveling counts, in its own words; where the numbers go is an adapter's business. */
export interface LevelingMetrics {
  /** This invocation opened the channel's breaker (a streak, a Retry-After, a failed probe). */
  breakerOpened(channel: ChannelName): void
  /** This invocation's probe closed it. */
  breakerClosed(channel: ChannelName): void
  /** A delivery waits (breaker open, probe out, rate slot too late): its message is sent again for later. */
  deferred(channel: ChannelName): void
  /** The consumer's state after a reconcile: paused (by whom) or running. A gauge: 1 or 0. */
  paused(by: PausedBy): void
}

export const noLevelingMetrics: LevelingMetrics = {
  breakerOpened: () => undefined,
  breakerClosed: () => undefined,
  deferred: () => undefined,
  paused: () => undefined,
}
