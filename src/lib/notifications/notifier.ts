import { logger } from '../log.ts'
import { parseTaskEvent } from '../messages/contract.ts'
import type { Channel } from './channel.ts'
import type { DeliveryGuard } from './delivery-guard.ts'
import type { DeliveryLog } from './delivery-log.ts'
import { toNotification } from './notification.ts'

/** One queue message as the consumer sees it, whatever transport brought it. */
export interface QueueMessage {
  messageId: string
  eventName: unknown
  body: string
  receiveCount: number
}

/** Some channels of one notification failed; the message must come back for them. */
export class NotificationFailedError extends AggregateError {
  override readonly name = 'NotificationFailedError'
}

/**
 * Turns a task event into one notification and delivers it to every channel.
 * Each channel's delivery is guarded and recorded on its own, so a failing
 * channel does not resend the ones that succeeded, and no copy of the message
 * makes a recorded delivery again.
 */
export class Notifier {
  readonly #channels: readonly Channel[]
  readonly #deliveries: DeliveryLog
  readonly #guard: DeliveryGuard
  readonly #now: () => string

  constructor(channels: readonly Channel[], deliveries: DeliveryLog, guard: DeliveryGuard, now: () => string = () => new Date().toISOString()) {
    this.#channels = channels
    this.#deliveries = deliveries
    this.#guard = guard
    this.#now = now
  }

  async handle(message: QueueMessage): Promise<void> {
    const notification = toNotification(parseTaskEvent(message.eventName, message.body))
    const log = logger.createChild({
      persistentKeys: { messageId: message.messageId, notificationId: notification.id, taskId: notification.taskId },
    })
    const outcomes = await Promise.allSettled(
      this.#channels.map(async (channel) => {
        const delivered = await this.#guard.once(`${notification.id}#${channel.name}`, async () => {
          await channel.deliver(notification)
          await this.#deliveries.record({
            taskId: notification.taskId,
            notificationId: notification.id,
            event: notification.event,
            channel: channel.name,
            subject: notification.subject,
            status: 'sent',
            messageId: message.messageId,
            receiveCount: message.receiveCount,
            deliveredAt: this.#now(),
          })
        })
        log.info(delivered ? 'Delivered' : 'Already delivered, skipped', { channel: channel.name, receiveCount: message.receiveCount })
      }),
    )
    const failures = outcomes.flatMap((outcome) => (outcome.status === 'rejected' ? [outcome.reason as unknown] : []))
    if (failures.length) {
      const reasons = failures.map((failure) => (failure instanceof Error ? failure.message : String(failure)))
      log.warn('Delivery failed', { reasons, receiveCount: message.receiveCount })
      throw new NotificationFailedError(failures, `Delivery of ${notification.id} failed: ${reasons.join('; ')}`)
    }
  }
}
