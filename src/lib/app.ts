import { DynamoDeliveryLog } from './adapters/dynamo-delivery-log.ts'
import { DynamoTaskStore } from './adapters/dynamo-task-store.ts'
import { LogChannel } from './adapters/log-channel.ts'
import { PowertoolsDeliveryGuard } from './adapters/powertools-delivery-guard.ts'
import { PowertoolsDeliveryMetrics } from './adapters/powertools-metrics.ts'
import { SesEmailChannel } from './adapters/ses-email-channel.ts'
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

/** The consumer's parts: the Notifier, the guard that needs the Lambda context, the retry scheduler, the metrics to flush. */
export function consumer(): { notifier: Notifier; guard: PowertoolsDeliveryGuard; retries: SqsRetryScheduler; metrics: PowertoolsDeliveryMetrics } {
  const { webhook, email, deliveryDedupDays, notificationsQueueUrl, retry } = readConfig()
  const channels: Channel[] = []
  if (webhook) channels.push(new WebhookChannel(webhook))
  if (email) channels.push(new SesEmailChannel(email))
  if (channels.length === 0) channels.push(new LogChannel())
  const guard = new PowertoolsDeliveryGuard(deliveryDedupDays)
  const metrics = new PowertoolsDeliveryMetrics({ namespace: 'QueueLeveling', serviceName: 'notifications' })
  return {
    notifier: new Notifier(channels, deliveryLog(), guard, metrics),
    guard,
    retries: new SqsRetryScheduler(sqsClient, notificationsQueueUrl, retry),
    metrics,
  }
}
