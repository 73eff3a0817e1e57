import { arcBreakerTable, DynamoBreakerStore } from './adapters/dynamo-breaker-store.ts'
import { DynamoDeliveryLog } from './adapters/dynamo-delivery-log.ts'
import { DynamoTaskStore } from './adapters/dynamo-task-store.ts'
import { LogChannel } from './adapters/log-channel.ts'
import { LambdaMappingSwitch, lambdaClient } from './adapters/lambda-mapping.ts'
import { PowertoolsDeliveryGuard } from './adapters/powertools-delivery-guard.ts'
import { DELIVERY_METRICS, PowertoolsDeliveryMetrics } from './adapters/powertools-metrics.ts'
import { PowertoolsRelayMetrics } from './adapters/powertools-relay-metrics.ts'
import { SES_CALL_BUDGET_MS, SesEmailChannel } from './adapters/ses-email-channel.ts'
import { SqsControlSender } from './adapters/sqs-control.ts'
import { SqsDeferrals } from './adapters/sqs-resend.ts'
import { SqsRetryScheduler } from './adapters/sqs-retry.ts'
import { sqsClient } from './adapters/sqs.ts'
import { SqsEventPublisher } from './adapters/sqs-publisher.ts'
import { webhookSigningSecret, webhookUrl } from './adapters/ssm-signing-secret.ts'
import { WebhookChannel } from './adapters/webhook-channel.ts'
import { readConsumerSettings, readControlSettings, readProducerSettings, readRelayBatch, type SqsSettings, type WebhookSettings } from './config.ts'
import { ConsumerControl } from './leveling/consumer-control.ts'
import { ALL_CHANNELS } from './leveling/control.ts'
import { LevelingGate } from './leveling/gate.ts'
import { Pacer } from './leveling/pacer.ts'
import type { Channel } from './notifications/channel.ts'
import { DeliveryQueries } from './notifications/delivery-log.ts'
import { Notifier } from './notifications/notifier.ts'
import { TaskQueries, TaskService } from './tasks/service.ts'

/**
 * Wires the domain to its adapters; the only place that knows both. Each
 * function asks for what it uses, and so reads only the settings that needs.
 */

/** The write routes and the relay: tasks and the events they publish. */
export function taskService(): TaskService {
  const { notificationsQueueUrl, sqs, outboxShards } = readProducerSettings()
  // The SQS client is made on first publish.
  return new TaskService(new DynamoTaskStore(outboxShards), new SqsEventPublisher(sqsClient(sqs), notificationsQueueUrl))
}

/**
 * What one publish and one item write may take at worst: every SQS attempt
 * waiting out its connection and its request timeout, a backoff of up to a
 * second between attempts, a second for DynamoDB. The relay takes no new work
 * with less than this left, so it ends before its function's timeout.
 */
const relayReserveMs = (sqs: SqsSettings): number => sqs.maxAttempts * 2 * sqs.timeoutMs + (sqs.maxAttempts - 1) * 1000 + 1000

/** The scheduled relay: the task service with metrics on what it parks, the records a run takes and the time it keeps in reserve. */
export function outboxRelay(): { tasks: TaskService; metrics: PowertoolsRelayMetrics; limit: number; reserveMs: number } {
  const { notificationsQueueUrl, sqs, outboxShards } = readProducerSettings()
  const metrics = new PowertoolsRelayMetrics()
  const tasks = new TaskService(new DynamoTaskStore(outboxShards), new SqsEventPublisher(sqsClient(sqs), notificationsQueueUrl), { metrics })
  return { tasks, metrics, limit: readRelayBatch(), reserveMs: relayReserveMs(sqs) }
}

/** The read routes: tasks only, no queue. */
export function taskQueries(): TaskQueries {
  return new TaskQueries(new DynamoTaskStore())
}

/** A task's delivery log, for reading by the task's owner (the consumer writes it). */
export function deliveryQueries(): DeliveryQueries {
  return new DeliveryQueries(new DynamoDeliveryLog())
}

/** The consumer's webhook: its URL and signing secret each from the environment (local) or SSM (deployed). */
export function webhookChannel(settings: WebhookSettings): WebhookChannel {
  return new WebhookChannel(settings, webhookSigningSecret(settings), webhookUrl(settings))
}

/**
 * The consumer's parts: the Notifier (its channels behind the leveling gate:
 * breakers and rate caps), the guard that needs the Lambda context, the retry
 * scheduler, what sends a waiting delivery's message again, the metrics to flush.
 */
export function consumer(): { notifier: Notifier; guard: PowertoolsDeliveryGuard; retries: SqsRetryScheduler; deferrals: SqsDeferrals; metrics: PowertoolsDeliveryMetrics } {
  const settings = readConsumerSettings()
  const channels: Channel[] = []
  if (settings.webhook) channels.push(webhookChannel(settings.webhook))
  if (settings.email) channels.push(new SesEmailChannel(settings.email))
  if (settings.log) channels.push(new LogChannel())
  const guard = new PowertoolsDeliveryGuard(settings.deliveryDedupDays)
  const metrics = new PowertoolsDeliveryMetrics(DELIVERY_METRICS)
  const sqs = sqsClient(settings.sqs)
  const { leveling } = settings
  const store = new DynamoBreakerStore(arcBreakerTable(), leveling.breaker)
  const gate = new LevelingGate({
    store,
    channels: channels.map((channel) => channel.name),
    settings: leveling.breaker,
    pacer: new Pacer(store, { caps: leveling.maxPerSecond }),
    control: new SqsControlSender(sqs, leveling.controlQueueUrl),
    metrics,
    callBudgetMs: { email: SES_CALL_BUDGET_MS, ...(settings.webhook && { webhook: settings.webhook.timeoutMs }) },
  })
  return {
    notifier: new Notifier(channels, new DynamoDeliveryLog(settings.deliveryRetentionDays), guard, metrics, undefined, gate),
    guard,
    retries: new SqsRetryScheduler(sqs, settings.notificationsQueueUrl, settings.retry),
    deferrals: new SqsDeferrals(sqs, settings.notificationsQueueUrl),
    metrics,
  }
}

/** The consumer-control function (and its metrics): it alone switches the consumer's event source mapping. */
export function consumerControl(): { control: ConsumerControl; metrics: PowertoolsDeliveryMetrics } {
  const settings = readControlSettings()
  const metrics = new PowertoolsDeliveryMetrics(DELIVERY_METRICS)
  const control = new ConsumerControl({
    store: new DynamoBreakerStore(arcBreakerTable(), settings.breaker),
    channels: ALL_CHANNELS,
    mapping: new LambdaMappingSwitch(lambdaClient(), settings.mappingUuid),
    control: new SqsControlSender(sqsClient(settings.sqs), settings.controlQueueUrl),
    metrics,
  })
  return { control, metrics }
}
