import type { ChannelName } from './delivery-log.ts'
import type { Notification } from './notification.ts'

/** A downstream a notification is delivered to. Throws DeliveryFailedError when it refuses. */
export interface Channel {
  readonly name: ChannelName
  deliver(notification: Notification): Promise<void>
}

/** A downstream said no. `retryable` failures (timeout, 5xx, 429, throttling) may pass on a later try. */
export class DeliveryFailedError extends Error {
  override readonly name = 'DeliveryFailedError'
  readonly retryable: boolean

  constructor(message: string, retryable: boolean) {
    super(message)
    this.retryable = retryable
  }
}
