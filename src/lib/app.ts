import { DynamoDeliveryLog } from './adapters/dynamo-delivery-log.ts'
import { DynamoTaskStore } from './adapters/dynamo-task-store.ts'
import { LogChannel } from './adapters/log-channel.ts'
import { PowertoolsDeliveryGuard } from './adapters/powertools-delivery-guard.ts'
import { SqsRetryScheduler } from './adapters/sqs-retry.ts'
import { sqsClient } from './adapters/sqs.ts'
import { SqsEventPublisher } from './adapters/sqs-publisher.ts'
import { WebhookChannel } from './adapters/webhook-channel.ts'
import { readConfig } from './config.ts'
import type { Channel } from './notifications/channel.ts'
import { Notifier } from './notifications/notifier.ts'
import { TaskService } from './tasks/service.ts'

/** Wires the domain to its adapters; the only place that knows both. */

export function taskService(): TaskService {
  const { notificationsQueueUrl } = readConfig()
  if (!notificationsQueueUrl) throw new Error('NOTIFICATIONS_QUEUE_URL is not set')
  // The SQS client is made on first publish: routes that only read never pay for it.
  return new TaskService(new DynamoTaskStore(), new SqsEventPublisher(sqsClient, notificationsQueueUrl))
}

export function deliveryLog(): DynamoDeliveryLog {
  return new DynamoDeliveryLog(readConfig().deliveryRetentionDays)
}

/** The consumer's parts: the Notifier, the guard that needs the Lambda context, the retry scheduler. */
export function consumer(): { notifier: Notifier; guard: PowertoolsDeliveryGuard; retries: SqsRetryScheduler } {
  const { webhook, deliveryDedupDays, notificationsQueueUrl, retry } = readConfig()
  const channels: Channel[] = []
  if (webhook) channels.push(new WebhookChannel(webhook))
  if (channels.length === 0) channels.push(new LogChannel())
  const guard = new PowertoolsDeliveryGuard(deliveryDedupDays)
  return {
    notifier: new Notifier(channels, deliveryLog(), guard),
    guard,
    retries: new SqsRetryScheduler(sqsClient, notificationsQueueUrl, retry),
  }
}
