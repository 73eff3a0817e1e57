import type { ChannelName } from './delivery-log.ts'

/**
 * What the Notifier counts and times, in its own words: where the numbers go
 * (CloudWatch, a test's memory) is an adapter's business.
 */
export interface DeliveryMetrics {
  /** A channel's delivery was made and recorded, `latencyMs` after the notification occurred. */
  delivered(channel: ChannelName, latencyMs: number): void
  /** That delivery was made on a redelivered message (receiveCount > 1): a retry that worked. */
  retried(channel: ChannelName): void
  /** A channel's attempt failed; a retryable failure comes back after a backoff, a permanent one heads for the DLQ. */
  failed(channel: ChannelName, retryable: boolean): void
  /** How long one call to the channel took, whatever its outcome. */
  channelCall(channel: ChannelName, durationMs: number): void
  /** A copy of an already delivered notification was dropped. */
  duplicateSkipped(channel: ChannelName): void
  /** A message that can never be delivered (unknown event, body off contract). */
  invalidMessage(): void
}

/** For wiring that has nowhere to send metrics. */
export const noDeliveryMetrics: DeliveryMetrics = {
  delivered: () => undefined,
  retried: () => undefined,
  failed: () => undefined,
  channelCall: () => undefined,
  duplicateSkipped: () => undefined,
  invalidMessage: () => undefined,
}
