import { SQSClient, type SendMessageCommandInput } from '@aws-sdk/client-sqs'
import type { SQSRecord } from 'aws-lambda'
import test from 'tape'
import { SqsDeferrals } from '../../src/lib/adapters/sqs-resend.ts'
import { opened, type BreakerSettings } from '../../src/lib/leveling/breaker.ts'
import { LevelingGate } from '../../src/lib/leveling/gate.ts'
import { DeliveryFailedError, type Channel } from '../../src/lib/notifications/channel.ts'
import type { ChannelName, DeliveryLog, DeliveryRecord } from '../../src/lib/notifications/delivery-log.ts'
import type { Notification } from '../../src/lib/notifications/notification.ts'
import { NotificationFailedError, Notifier, type QueueMessage } from '../../src/lib/notifications/notifier.ts'
import { ManualClock, MemoryBreakerStore, RecordingControl, RecordingLevelingMetrics } from '../helpers/memory-breaker-store.ts'

/**
 * Records that arrive while a channel's breaker is open (the pause takes
 * effect late, a batch was under way, the mapping resumed for a probe) call
 * nothing: their delivery waits, the message is sent again as a fresh copy
 * for when the period ends, and the healthy channels of the same
 * notification are delivered now.
 */

const SETTINGS: BreakerSettings = { failures: 3, openSeconds: 30, maxOpenSeconds: 600 }

/** A downstream that answers as `fails` says, and counts what reached it. */
class CountingChannel implements Channel {
  readonly name: ChannelName
  readonly reached: string[] = []
  fails = false

  constructor(name: ChannelName) {
    this.name = name
  }

  async deliver(notification: Notification): Promise<void> {
    this.reached.push(notification.id)
    if (this.fails) throw new DeliveryFailedError(`${this.name} answered 503`, true)
  }
}

/** Delivery records by `<notification id>#<channel>`. */
class RecordSet implements DeliveryLog {
  readonly keys = new Set<string>()
  async record(delivery: DeliveryRecord): Promise<void> {
    this.keys.add(`${delivery.notificationId}#${delivery.channel}`)
  }
  async isRecorded(_taskId: string, notificationId: string, channel: ChannelName): Promise<boolean> {
    return this.keys.has(`${notificationId}#${channel}`)
  }
  async forTask(): Promise<DeliveryRecord[]> {
    return []
  }
}

function setup() {
  const clock = new ManualClock()
  const store = new MemoryBreakerStore(SETTINGS)
  const metrics = new RecordingLevelingMetrics()
  const webhook = new CountingChannel('webhook')
  const email = new CountingChannel('email')
  const deliveries = new RecordSet()
  const gate = new LevelingGate({ store, channels: ['webhook', 'email'], settings: SETTINGS, control: new RecordingControl(), metrics, callBudgetMs: {}, now: clock.read, cacheMs: 0 })
  const guard = { once: async (_key: string, deliver: () => Promise<void>) => (await deliver(), true) }
  const notifier = new Notifier([webhook, email], deliveries, guard, undefined, () => new Date(clock.now).toISOString(), gate)
  const openBreaker = (channel: ChannelName): number => {
    const breaker = opened(store.breaker(channel), clock.now, SETTINGS, { kind: 'streak' })
    store.breakers.set(channel, breaker)
    return breaker.openUntil ?? 0
  }
  return { clock, store, metrics, webhook, email, deliveries, notifier, openBreaker }
}

function message(taskId: string, receiveCount = 1): QueueMessage {
  const at = '2030-01-01T00:00:00.000Z'
  const task = { id: taskId, title: 'Ship it', isComplete: false, version: 1, createdAt: at, updatedAt: at }
  return { messageId: `m-${taskId}-${receiveCount}`, eventName: 'task_created', body: JSON.stringify({ ownerId: 'alice', task }), receiveCount }
}

test('two channels, only the webhook down: the webhook is not called and waits; the email is delivered now', async (t) => {
  const { webhook, email, deliveries, notifier, openBreaker, metrics } = setup()
  const until = openBreaker('webhook')
  const outcome = await notifier.handle(message('t1'))
  t.deepEqual(webhook.reached, [], 'nothing calls the downstream whose breaker is open')
  t.deepEqual(email.reached, ['task_created:t1:1'], 'the healthy channel is delivered')
  t.deepEqual([...deliveries.keys], ['task_created:t1:1#email'], 'and recorded')
  t.equal(outcome.deferredUntil, until, 'the message is to come back when the period ends')
  t.deepEqual(metrics.events, ['deferred webhook'])
})

test('the copy that comes back after the period: the webhook is delivered (the probe), the email is not sent twice', async (t) => {
  const { webhook, email, notifier, openBreaker, clock, store } = setup()
  const until = openBreaker('webhook')
  await notifier.handle(message('t2'))
  clock.now = until
  const outcome = await notifier.handle(message('t2', 1))
  t.deepEqual(outcome, {}, 'done')
  t.deepEqual(webhook.reached, ['task_created:t2:1'], 'the webhook once, as the probe')
  t.deepEqual(email.reached, ['task_created:t2:1'], 'the email once in all')
  t.equal(store.breaker('webhook').state, 'closed', 'the probe closed the breaker')
})

test('both channels held back: the copy comes back when the earlier period ends', async (t) => {
  const { notifier, openBreaker, clock, webhook, email } = setup()
  const webhookUntil = openBreaker('webhook')
  clock.advance(10_000)
  const emailUntil = openBreaker('email')
  const outcome = await notifier.handle(message('t3'))
  t.equal(outcome.deferredUntil, Math.min(webhookUntil, emailUntil))
  t.equal(webhook.reached.length + email.reached.length, 0, 'no downstream was called')
})

test('a real failure of one channel beside a wait of the other: the message fails (retried with backoff), and the waiting one is still not called', async (t) => {
  const { notifier, openBreaker, webhook, email } = setup()
  openBreaker('webhook')
  email.fails = true
  const error = await notifier.handle(message('t4')).catch((failure: unknown) => failure)
  t.ok(error instanceof NotificationFailedError, 'NotificationFailedError')
  t.deepEqual(webhook.reached, [], 'the webhook was not called')
})

test("the failure that opens a channel's breaker does not count against its message: it waits like the others", async (t) => {
  const { notifier, webhook, store } = setup()
  webhook.fails = true
  for (const task of ['a', 'b']) await notifier.handle(message(task)).catch(() => undefined)
  const outcome = await notifier.handle(message('c'))
  t.equal(store.breaker('webhook').state, 'open', 'the third different failure opened it')
  t.ok(outcome.deferredUntil !== undefined, 'and that message waits instead of failing')
})

/** An SQS client answered in process: each SendMessage input is kept, nothing goes on the wire. */
function recordingSqs(): { sqs: () => Promise<{ client: SQSClient; commands: typeof import('@aws-sdk/client-sqs') }>; sent: SendMessageCommandInput[] } {
  const sent: SendMessageCommandInput[] = []
  const client = new SQSClient({ region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } })
  client.middlewareStack.add(
    (_next, context) => async (args) => {
      if (context.commandName !== 'SendMessageCommand') throw new Error(`unexpected ${context.commandName}`)
      sent.push(args.input as SendMessageCommandInput)
      return { output: { $metadata: {}, MessageId: `copy-${sent.length}` }, response: {} }
    },
    { step: 'initialize', priority: 'high' },
  )
  return { sqs: async () => ({ client, commands: await import('@aws-sdk/client-sqs') }), sent }
}

test('the copy: same body, attributes and trace header, delayed until the period ends (at least 1 s, at most 15 min)', async (t) => {
  const { sqs, sent } = recordingSqs()
  const deferrals = new SqsDeferrals(sqs, 'http://127.0.0.1:1/000000000000/notifications')
  const record = {
    messageId: 'original',
    body: '{"task":{"id":"t1"}}',
    attributes: { ApproximateReceiveCount: '4', AWSTraceHeader: 'Root=1-5759e988-bd862e3fe1be46a994272793' },
    messageAttributes: {
      event: { dataType: 'String', stringValue: 'task_created', stringListValues: [], binaryListValues: [] },
      blob: { dataType: 'Binary', binaryValue: Buffer.from([1, 2, 3]).toString('base64'), stringListValues: [], binaryListValues: [] },
    },
  } as unknown as SQSRecord
  const now = Date.parse('2030-01-01T00:00:00.000Z')
  await deferrals.resend(record, now + 12_300, now)
  await deferrals.resend(record, now + 3 * 60 * 60 * 1000, now)
  await deferrals.resend(record, now - 5000, now)
  t.deepEqual(
    sent.map((input) => input.DelaySeconds),
    [13, 900, 1],
    "12.3 s ahead: 13 s; three hours: SQS's 900 s, then deferred again; already due: 1 s",
  )
  const copy = sent[0]
  t.equal(copy?.MessageBody, record.body, 'the same body: the same notification id')
  t.deepEqual(copy?.MessageAttributes?.event, { DataType: 'String', StringValue: 'task_created' })
  t.deepEqual([...(copy?.MessageAttributes?.blob?.BinaryValue ?? [])], [1, 2, 3], 'binary attributes decoded from the record')
  t.deepEqual(copy?.MessageSystemAttributes?.AWSTraceHeader, { DataType: 'String', StringValue: 'Root=1-5759e988-bd862e3fe1be46a994272793' }, "in the producer's trace")
  t.equal(copy?.QueueUrl, 'http://127.0.0.1:1/000000000000/notifications', 'onto the same queue: a fresh message, its receive count starts again')
})
