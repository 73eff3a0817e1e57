import { logger } from '../log.ts'
import { InvalidMessageError, parseTaskEvent } from '../messages/contract.ts'
import { DeliveryDeferredError, DeliveryFailedError, type Channel } from './channel.ts'
import { openGate, type ChannelGate } from './channel-gate.ts'
import type { DeliveryGuard } from './delivery-guard.ts'
import type { DeliveryLog } from './delivery-log.ts'
import { noDeliveryMetrics, type DeliveryMetrics } from './delivery-metrics.ts'
import { toNotification, type Notification } from './notification.ts'
import { isRetryable } from './retry.ts'

/** One queue message as the consumer sees it, whatever transport brought it. */
export interface QueueMessage {
  messageId: string
  eventName: unknown
  body: string
  receiveCount: number
  /** Epoch ms by which the invocation handling it ends; unknown: Lambda's longest, 15 minutes from now. */
  deadline?: number
}

/**
 * How a notification ended when it did not fail: delivered to every channel,
 * or some channels must wait (their breaker is open, their rate slot came too
 * late) until `deferredUntil` (epoch ms, the earliest of their waits): the
 * message is to be sent again for then. Channels that delivered are recorded,
 * so that copy skips them.
 */
export interface NotificationOutcome {
  deferredUntil?: number
}

const LONGEST_INVOCATION_MS = 15 * 60 * 1000

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
  readonly #metrics: DeliveryMetrics
  readonly #now: () => string
  readonly #gate: ChannelGate

  constructor(
    channels: readonly Channel[],
    deliveries: DeliveryLog,
    guard: DeliveryGuard,
    metrics: DeliveryMetrics = noDeliveryMetrics,
    now: () => string = () => new Date().toISOString(),
    gate: ChannelGate = openGate,
  ) {
    this.#channels = channels
    this.#deliveries = deliveries
    this.#guard = guard
    this.#metrics = metrics
    this.#now = now
    this.#gate = gate
  }

  async handle(message: QueueMessage): Promise<NotificationOutcome> {
    let notification: Notification
    try {
      notification = toNotification(parseTaskEvent(message.eventName, message.body))
    } catch (error) {
      if (error instanceof InvalidMessageError) this.#metrics.invalidMessage()
      throw error
    }
    const log = logger.createChild({
      persistentKeys: { messageId: message.messageId, notificationId: notification.id, taskId: notification.taskId },
    })
    if (this.#channels.length === 0) {
      // Nothing is recorded as delivered: once a channel is configured, a replay of the DLQ delivers it.
      log.warn('No notification channel is configured', { receiveCount: message.receiveCount })
      throw new DeliveryFailedError(`No notification channel is configured for ${notification.id}`, true)
    }
    const outcomes = await Promise.allSettled(
      this.#channels.map(async (channel) => {
        const delivered = await this.#deliverOnce(channel, notification, message)
        log.info(delivered ? 'Delivered' : 'Already delivered, skipped', { channel: channel.name, receiveCount: message.receiveCount })
      }),
    )
    const rejections = outcomes.flatMap((outcome) => (outcome.status === 'rejected' ? [outcome.reason as unknown] : []))
    const deferrals = rejections.filter((reason): reason is DeliveryDeferredError => reason instanceof DeliveryDeferredError)
    const failures = rejections.filter((reason) => !(reason instanceof DeliveryDeferredError))
    if (failures.length) {
      const reasons = failures.map((failure) => (failure instanceof Error ? failure.message : String(failure)))
      log.warn('Delivery failed', { reasons, receiveCount: message.receiveCount })
      throw new NotificationFailedError(failures, `Delivery of ${notification.id} failed: ${reasons.join('; ')}`)
    }
    if (deferrals.length === 0) return {}
    const deferredUntil = Math.min(...deferrals.map((deferral) => deferral.until))
    log.info('Delivery deferred', { reasons: deferrals.map((deferral) => deferral.message), until: new Date(deferredUntil).toISOString(), receiveCount: message.receiveCount })
    return { deferredUntil }
  }

  /** One channel's guarded delivery and its record; resolves false when it was already made. */
  async #deliverOnce(channel: Channel, notification: Notification, message: QueueMessage): Promise<boolean> {
    let attempted = false
    let alreadyRecorded = false
    let deliveredAt = ''
    let delivered: boolean
    // The guard's claim expires with the invocation that took it: one cut off after its
    // delivery was recorded, before the guard stored completion, leaves the record as proof.
    // The record is looked up while the claim is made, not after: a claim succeeds only once
    // the earlier holder's deadline has passed, so its record, if any, is already written. The
    // lookup reads an index (eventually consistent, usually within a second): a record written
    // in the very last moment before that deadline may be missed, the at-least-once edge
    // X-Notification-Id is there for (docs/scale.md).
    const recorded = this.#deliveries.isRecorded(notification.taskId, notification.id, channel.name)
    // Read inside the guard; a claim refused first must not leave it rejecting unobserved.
    recorded.catch(() => undefined)
    try {
      delivered = await this.#guard.once(`${notification.id}#${channel.name}`, async () => {
        if (await recorded) {
          alreadyRecorded = true
          return
        }
        const attempt = { notificationId: notification.id, messageId: message.messageId, deadline: message.deadline ?? Date.now() + LONGEST_INVOCATION_MS }
        await channel.warm?.()
        await this.#gate.pass(channel.name, attempt, async () => {
          attempted = true
          const started = performance.now()
          try {
            await channel.deliver(notification)
          } finally {
            this.#metrics.channelCall(channel.name, performance.now() - started)
          }
        })
        deliveredAt = this.#now()
        await this.#deliveries.record({
          taskId: notification.taskId,
          ...(notification.ownerId !== undefined && { ownerId: notification.ownerId }),
          notificationId: notification.id,
          event: notification.event,
          channel: channel.name,
          subject: notification.subject,
          status: 'sent',
          messageId: message.messageId,
          receiveCount: message.receiveCount,
          deliveredAt,
        })
      })
    } catch (error) {
      // A copy held back because another one is delivering made no attempt: not a failure of the channel.
      if (attempted) this.#metrics.failed(channel.name, isRetryable(error))
      throw error
    }
    if (!delivered || alreadyRecorded) {
      this.#metrics.duplicateSkipped(channel.name)
      return false
    }
    // Clocks of the API and the consumer may disagree a little: a latency is never negative.
    const latencyMs = Date.parse(deliveredAt) - Date.parse(notification.occurredAt)
    if (Number.isFinite(latencyMs)) this.#metrics.delivered(channel.name, Math.max(0, latencyMs))
    if (message.receiveCount > 1) this.#metrics.retried(channel.name)
    return true
  }
}
