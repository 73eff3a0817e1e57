import type { SQSClient } from '@aws-sdk/client-sqs'
import { drainView, queueDepth, type WebhookCall } from '../scripts/lib/harness/index.ts'

/** Every task the queue app accepted: delivered once, parked in the DLQ, or neither (the failure to report). */
export interface Accounting {
  accepted: number
  deliveredOnce: number
  /** Tasks whose notification reached the downstream with a 2xx more than once. */
  duplicated: number
  /**
   * ...of them, those whose delivery the consumer logged as timed out: the downstream answered,
   * too late for the consumer (the at-least-once edge of SPEC "Notification consumer" that
   * X-Notification-Id lets a receiver close).
   */
  duplicatedAfterTimeout: number
  inDlq: number
  /** Still in the queue when the bench stopped waiting (a drain that timed out). */
  stillQueued: number
  /** Neither delivered nor in the DLQ nor waiting: lost. */
  missing: number
  /** Downstream calls answered with an error (retried, or the message ended in the DLQ). */
  failedCalls: number
}

export async function account(
  taskIds: string[],
  calls: WebhookCall[],
  queue: { sqs: SQSClient; queueUrl: string; dlqUrl: string },
  timedOutNotificationIds: Set<string>,
): Promise<Accounting> {
  const delivered = new Map<string, number>()
  for (const call of calls) {
    if (call.status >= 200 && call.status < 300) delivered.set(call.body.id, (delivered.get(call.body.id) ?? 0) + 1)
  }
  // Reading the DLQ hides its messages for a while; nothing else reads it.
  const parked = new Set<string>()
  for (const message of await drainView(queue.sqs, queue.dlqUrl)) {
    try {
      const id = (JSON.parse(message.body) as { task?: { id?: string } }).task?.id
      if (id) parked.add(id)
    } catch {
      // not one of ours
    }
  }
  const waiting = await queueDepth(queue.sqs, queue.queueUrl)
  let deliveredOnce = 0
  let duplicated = 0
  let duplicatedAfterTimeout = 0
  let inDlq = 0
  let unaccounted = 0
  for (const id of new Set(taskIds)) {
    const times = delivered.get(`task_created:${id}:1`) ?? 0
    if (times === 1) deliveredOnce++
    else if (times > 1) {
      duplicated++
      if (timedOutNotificationIds.has(`task_created:${id}:1`)) duplicatedAfterTimeout++
    }
    else if (parked.has(id)) inDlq++
    else unaccounted++
  }
  const stillQueued = Math.min(unaccounted, waiting.visible + waiting.inFlight + waiting.delayed)
  return {
    accepted: new Set(taskIds).size,
    deliveredOnce,
    duplicated,
    duplicatedAfterTimeout,
    inDlq,
    stillQueued,
    missing: unaccounted - stillQueued,
    failedCalls: calls.filter((call) => call.status < 200 || call.status >= 300).length,
  }
}

/** Notification ids whose webhook call the consumer logged as timed out (its structured WARN line). */
export function timedOutDeliveries(appLog: string): Set<string> {
  const ids = new Set<string>()
  for (const line of appLog.split('\n')) {
    if (!line.includes('Webhook timed out')) continue
    const id = /"notificationId":"([^"]+)"/.exec(line)?.[1]
    if (id) ids.add(id)
  }
  return ids
}
