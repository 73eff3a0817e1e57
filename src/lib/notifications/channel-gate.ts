import type { ChannelName } from './delivery-log.ts'

/** One record's attempt at a channel, as a gate needs to know it. */
export interface DeliveryAttempt {
  notificationId: string
  messageId: string
  /** Epoch ms by which the invocation handling the record ends. */
  deadline: number
}

/**
 * What stands between the Notifier and a channel's downstream: it runs `call`
 * (the channel's delivery) when the downstream may be called now, and throws
 * DeliveryDeferredError when the delivery must wait (leveling/gate.ts: the
 * channel's breaker and rate cap). Called only for a delivery not yet made.
 */
export interface ChannelGate {
  pass(channel: ChannelName, attempt: DeliveryAttempt, call: () => Promise<void>): Promise<void>
}

/** No breaker, no cap: every delivery calls its downstream at once. */
export const openGate: ChannelGate = { pass: (_channel, _attempt, call) => call() }
