import { DynamoDeliveryLog } from './adapters/dynamo-delivery-log.ts'
import { DynamoTaskStore } from './adapters/dynamo-task-store.ts'
import { LogChannel } from './adapters/log-channel.ts'
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
  return new DynamoDeliveryLog()
}

export function notifier(): Notifier {
  const { webhook } = readConfig()
  const channels: Channel[] = []
  if (webhook) channels.push(new WebhookChannel(webhook))
  if (channels.length === 0) channels.push(new LogChannel())
  return new Notifier(channels, deliveryLog())
}
