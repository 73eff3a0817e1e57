import type { ChannelName } from './delivery-log.ts'
import type { Notification } from './notification.ts'

/** A downstream a notification is delivered to. Throws DeliveryFailedError when it refuses. */
export interface Channel {
  readonly name: ChannelName
  deliver(notification: Notification): Promise<void>
  /**
   * Gets ready to deliver (reads its settings and secrets, loads its client)
   * without calling the downstream, so that a paced call made at its slot only
   * sends: work after the slot would land the call late, next to the
   * following slot's. Failures are left to `deliver` to report.
   */
  warm?(): Promise<void>
}

/**
 * A downstream said no. `retryable` failures (timeout, 5xx, 429, throttling)
 * may pass on a later try; `retryAt` (epoch ms) is when the downstream asked
 * to be called again (`Retry-After`), if it said.
 */
export class DeliveryFailedError extends Error {
  override readonly name = 'DeliveryFailedError'
  readonly retryable: boolean
  readonly retryAt: number | undefined

  constructor(message: string, retryable: boolean, retryAt?: number) {
    super(message)
    this.retryable = retryable
    this.retryAt = retryAt
  }
}

/**
 * The channel's downstream must not be called now (its breaker is open, its
 * probe is out, its rate slot came too late): the delivery waits until `until`
 * (epoch ms) without counting as a failure of the message.
 */
export class DeliveryDeferredError extends Error {
  override readonly name = 'DeliveryDeferredError'
  readonly until: number

  constructor(message: string, until: number, options?: ErrorOptions) {
    super(message, options)
    this.until = until
  }
}
