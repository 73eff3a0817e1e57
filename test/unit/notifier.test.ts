import test from 'tape'
import { METRIC, PowertoolsDeliveryMetrics } from '../../src/lib/adapters/powertools-metrics.ts'
import { DeliveryFailedError, type Channel } from '../../src/lib/notifications/channel.ts'
import { DeliveryInProgressError, type DeliveryGuard } from '../../src/lib/notifications/delivery-guard.ts'
import type { ChannelName, DeliveryLog, DeliveryRecord } from '../../src/lib/notifications/delivery-log.ts'
import type { DeliveryMetrics } from '../../src/lib/notifications/delivery-metrics.ts'
import type { Notification } from '../../src/lib/notifications/notification.ts'
import { Notifier, type QueueMessage } from '../../src/lib/notifications/notifier.ts'
import { isDeliveryLine } from '../../src/plugins/queue-leveling/dashboard/state.ts'
import { stdoutOfAsync } from '../../scripts/lib/harness/stdout.ts'

/**
 * The Notifier's bookkeeping, as pure logic: in-memory channels, delivery log,
 * guard and metrics. What it counts (delivered, failed and whether it may pass,
 * retries, skipped copies) and how it times deliveries.
 */
type Outcome = 'ok' | 'retryable' | 'permanent'

class MemoryChannel implements Channel {
  readonly name: ChannelName
  readonly calls: string[] = []
  /** What each next call does; the last one repeats. */
  outcomes: Outcome[] = ['ok']
  delayMs = 0

  constructor(name: ChannelName) {
    this.name = name
  }

  async deliver(notification: Notification): Promise<void> {
    this.calls.push(notification.id)
    const outcome = this.outcomes.length > 1 ? this.outcomes.shift()! : this.outcomes[0]!
    if (this.delayMs) await new Promise((resolve) => setTimeout(resolve, this.delayMs))
    if (outcome !== 'ok') throw new DeliveryFailedError(`${this.name} refused`, outcome === 'retryable')
  }
}

class MemoryDeliveryLog implements DeliveryLog {
  readonly records: DeliveryRecord[] = []
  async record(delivery: DeliveryRecord): Promise<void> {
    this.records.push(delivery)
  }
  async forTask(taskId: string): Promise<DeliveryRecord[]> {
    return this.records.filter((record) => record.taskId === taskId)
  }
  async isRecorded(taskId: string, notificationId: string, channel: ChannelName): Promise<boolean> {
    return this.records.some((record) => record.taskId === taskId && record.notificationId === notificationId && record.channel === channel)
  }
}

/** Once per key to completion; a key being delivered elsewhere (`busy`) refuses, as a concurrent copy would be. */
class MemoryGuard implements DeliveryGuard {
  readonly done = new Set<string>()
  readonly busy = new Set<string>()
  async once(key: string, deliver: () => Promise<void>): Promise<boolean> {
    if (this.done.has(key)) return false
    if (this.busy.has(key)) throw new DeliveryInProgressError(`${key} is in progress`)
    this.busy.add(key)
    try {
      await deliver()
      this.done.add(key)
      return true
    } finally {
      this.busy.delete(key)
    }
  }
}

type Reported =
  | { metric: 'delivered'; channel: ChannelName; latencyMs: number }
  | { metric: 'retried' | 'duplicateSkipped'; channel: ChannelName }
  | { metric: 'failed'; channel: ChannelName; retryable: boolean }
  | { metric: 'channelCall'; channel: ChannelName; durationMs: number }
  | { metric: 'invalidMessage' }

class MemoryMetrics implements DeliveryMetrics {
  readonly reported: Reported[] = []
  delivered(channel: ChannelName, latencyMs: number): void {
    this.reported.push({ metric: 'delivered', channel, latencyMs })
  }
  retried(channel: ChannelName): void {
    this.reported.push({ metric: 'retried', channel })
  }
  failed(channel: ChannelName, retryable: boolean): void {
    this.reported.push({ metric: 'failed', channel, retryable })
  }
  channelCall(channel: ChannelName, durationMs: number): void {
    this.reported.push({ metric: 'channelCall', channel, durationMs })
  }
  duplicateSkipped(channel: ChannelName): void {
    this.reported.push({ metric: 'duplicateSkipped', channel })
  }
  invalidMessage(): void {
    this.reported.push({ metric: 'invalidMessage' })
  }
  /** Everything but call durations (which are wall-clock), in a stable order. */
  counts(): string[] {
    return this.reported
      .filter((item) => item.metric !== 'channelCall')
      .map((item) => JSON.stringify(item))
      .sort()
  }
  calls(): string[] {
    return this.reported.flatMap((item) => (item.metric === 'channelCall' ? [item.channel] : [])).sort()
  }
}

const OCCURRED_AT = '2030-01-02T03:04:05.000Z'
const DELIVERED_AT = '2030-01-02T03:04:07.500Z'

/** A message as the producer publishes it, for `ownerId`; `null` for one published before tasks had owners. */
function message(taskId: string, receiveCount: number, event = 'task_created', ownerId: string | null = 'alice'): QueueMessage {
  const task = { id: taskId, title: 'Write it', isComplete: false, version: 1, createdAt: OCCURRED_AT, updatedAt: OCCURRED_AT }
  return { messageId: `m-${taskId}-${receiveCount}`, eventName: event, body: JSON.stringify({ ...(ownerId !== null && { ownerId }), task }), receiveCount }
}

function setup() {
  const webhook = new MemoryChannel('webhook')
  const email = new MemoryChannel('email')
  const log = new MemoryDeliveryLog()
  const guard = new MemoryGuard()
  const metrics = new MemoryMetrics()
  const notifier = new Notifier([webhook, email], log, guard, metrics, () => DELIVERED_AT)
  return { webhook, email, log, guard, metrics, notifier }
}

const failureOf = (promise: Promise<unknown>): Promise<unknown> => promise.then(() => 'resolved', (error: unknown) => error)

test('a first delivery: delivered per channel with its latency from occurredAt; no retry counted', async (t) => {
  const { metrics, notifier, log } = setup()
  await notifier.handle(message('a', 1))
  t.deepEqual(metrics.counts(), [
    JSON.stringify({ metric: 'delivered', channel: 'email', latencyMs: 2500 }),
    JSON.stringify({ metric: 'delivered', channel: 'webhook', latencyMs: 2500 }),
  ])
  t.deepEqual(metrics.calls(), ['email', 'webhook'], 'one timed call per channel')
  t.equal(log.records.length, 2, 'both recorded')
})

test("each channel's record keeps the message's owner; a message without one is delivered all the same, its records with none", async (t) => {
  const { webhook, log, notifier } = setup()
  await notifier.handle(message('owned', 1))
  t.deepEqual(log.records.map((record) => [record.channel, record.ownerId]).sort(), [['email', 'alice'], ['webhook', 'alice']])
  await notifier.handle(message('legacy', 1, 'task_created', null))
  t.ok(webhook.calls.includes('task_created:legacy:1'), 'delivered, not refused as off contract')
  const legacy = log.records.filter((record) => record.taskId === 'legacy')
  t.equal(legacy.length, 2, 'and recorded on both channels')
  t.ok(legacy.every((record) => !('ownerId' in record)), 'with no owner attribute at all')
})

test('each delivery logs the line the local dashboard recognises (and keeps off the terminal)', async (t) => {
  const { notifier } = setup()
  const { lines } = await stdoutOfAsync(() => notifier.handle(message('logged', 1)))
  t.equal(lines.filter(isDeliveryLine).length, 2, 'one per channel delivery')
})

test('a delivery recorded by an invocation cut off before its guard stored completion is not made again', async (t) => {
  const { webhook, email, log, metrics, notifier } = setup()
  await notifier.handle(message('cut', 1))
  // The claim expired with the invocation: a fresh guard knows nothing of the first run.
  const retry = new Notifier([webhook, email], log, new MemoryGuard(), metrics, () => DELIVERED_AT)
  await retry.handle(message('cut', 2))
  t.equal(webhook.calls.length, 1, 'the webhook got it once')
  t.equal(email.calls.length, 1, 'the email went once')
  t.equal(log.records.length, 2, 'no second record')
  t.equal(metrics.counts().filter((line) => line.includes('duplicateSkipped')).length, 2, 'both counted as skipped duplicates')
})

test('a failing channel is counted as failed, retryable or not; the channel that worked is not held back', async (t) => {
  const { email, metrics, notifier } = setup()
  email.outcomes = ['retryable']
  t.ok((await failureOf(notifier.handle(message('b', 1)))) instanceof Error, 'the message fails, so it comes back')
  t.deepEqual(metrics.counts(), [
    JSON.stringify({ metric: 'delivered', channel: 'webhook', latencyMs: 2500 }),
    JSON.stringify({ metric: 'failed', channel: 'email', retryable: true }),
  ])
  t.deepEqual(metrics.calls(), ['email', 'webhook'], 'a failed call is timed too')

  const permanent = setup()
  permanent.email.outcomes = ['permanent']
  await failureOf(permanent.notifier.handle(message('c', 1)))
  t.deepEqual(
    permanent.metrics.reported.filter((item) => item.metric === 'failed'),
    [{ metric: 'failed', channel: 'email', retryable: false }],
    'a permanent refusal is failed, not retryable',
  )
})

test('the redelivery: the channel that failed delivers and counts as a retry; the other is skipped, not sent again', async (t) => {
  const { webhook, email, metrics, notifier } = setup()
  email.outcomes = ['retryable', 'ok']
  await failureOf(notifier.handle(message('d', 1)))
  metrics.reported.length = 0
  await notifier.handle(message('d', 2))
  t.deepEqual(metrics.counts(), [
    JSON.stringify({ metric: 'delivered', channel: 'email', latencyMs: 2500 }),
    JSON.stringify({ metric: 'duplicateSkipped', channel: 'webhook' }),
    JSON.stringify({ metric: 'retried', channel: 'email' }),
  ])
  t.deepEqual(metrics.calls(), ['email'], 'only the email channel was called again')
  t.deepEqual([webhook.calls.length, email.calls.length], [1, 2])

  metrics.reported.length = 0
  await notifier.handle(message('d', 3))
  t.deepEqual(metrics.counts(), [JSON.stringify({ metric: 'duplicateSkipped', channel: 'email' }), JSON.stringify({ metric: 'duplicateSkipped', channel: 'webhook' })], 'a late copy delivers nothing and counts no retry')
})

test('a copy held back while another delivers made no attempt: no failure counted', async (t) => {
  const { guard, metrics, notifier } = setup()
  guard.busy.add('task_created:e:1#email')
  await failureOf(notifier.handle(message('e', 1)))
  t.deepEqual(metrics.counts(), [JSON.stringify({ metric: 'delivered', channel: 'webhook', latencyMs: 2500 })])
  t.deepEqual(metrics.calls(), ['webhook'])
})

test('a message off contract counts as invalid and reaches no channel', async (t) => {
  const { webhook, email, metrics, notifier } = setup()
  await failureOf(notifier.handle(message('f', 1, 'task_renamed')))
  t.deepEqual(metrics.reported, [{ metric: 'invalidMessage' }])
  t.deepEqual([webhook.calls.length, email.calls.length], [0, 0])
})

test('the call duration is the time the channel took', async (t) => {
  const { email, metrics, notifier } = setup()
  email.delayMs = 60
  await notifier.handle(message('g', 1))
  const duration = (channel: ChannelName): number => {
    const found = metrics.reported.find((item) => item.metric === 'channelCall' && item.channel === channel)
    return found?.metric === 'channelCall' ? found.durationMs : NaN
  }
  t.ok(duration('email') >= 55 && duration('email') < 1000, `email took ${duration('email').toFixed(1)} ms`)
  t.ok(duration('webhook') >= 0 && duration('webhook') < 55, `webhook took ${duration('webhook').toFixed(1)} ms`)
})

test('the Powertools adapter writes EMF: namespace QueueLeveling, service notifications, a line per dimension set', (t) => {
  const lines: string[] = []
  const write = process.stdout.write
  process.stdout.write = ((chunk: string | Uint8Array) => {
    lines.push(String(chunk))
    return true
  }) as typeof process.stdout.write
  const arcEnv = process.env.ARC_ENV
  let metrics: PowertoolsDeliveryMetrics
  try {
    // The stage comes from Architect's ARC_ENV when the adapter is made.
    process.env.ARC_ENV = 'staging'
    metrics = new PowertoolsDeliveryMetrics()
  } finally {
    if (arcEnv === undefined) delete process.env.ARC_ENV
    else process.env.ARC_ENV = arcEnv
  }
  try {
    metrics.delivered('webhook', 2500)
    metrics.delivered('webhook', 100)
    metrics.channelCall('webhook', 12)
    metrics.retried('webhook')
    metrics.failed('email', true)
    metrics.failed('email', true)
    metrics.invalidMessage()
    metrics.flush()
    metrics.flush()
  } finally {
    process.stdout.write = write
  }
  const emf = lines.map((line) => JSON.parse(line) as Record<string, unknown> & { _aws: { CloudWatchMetrics: { Namespace: string; Dimensions: string[][]; Metrics: { Name: string; Unit: string }[] }[] } })
  t.equal(emf.length, 3, 'webhook, email+retryable, and the channel-less set; a second flush writes nothing')
  const webhook = emf.find((item) => item.channel === 'webhook' && item.retryable === undefined)
  t.equal(webhook?._aws.CloudWatchMetrics[0]?.Namespace, 'QueueLeveling')
  t.deepEqual(webhook?._aws.CloudWatchMetrics[0]?.Dimensions, [['service', 'stage', 'channel']])
  t.equal(webhook?.service, 'notifications')
  t.equal(webhook?.stage, 'staging', 'the stage, so two stages in one account do not mix')
  t.equal(webhook?.[METRIC.delivered], 2, 'counts are summed')
  t.equal(webhook?.[METRIC.retries], 1)
  t.deepEqual(webhook?.[METRIC.deliveryLatency], [2500, 100], 'every latency, for percentiles')
  t.equal(webhook?.[METRIC.channelCallDuration], 12)
  t.deepEqual(
    Object.fromEntries((webhook?._aws.CloudWatchMetrics[0]?.Metrics ?? []).map((metric) => [metric.Name, metric.Unit])),
    { DeliveryLatency: 'Milliseconds', ChannelCallDuration: 'Milliseconds', Delivered: 'Count', Retries: 'Count' },
  )
  const failed = emf.find((item) => item.channel === 'email')
  t.deepEqual(failed?._aws.CloudWatchMetrics[0]?.Dimensions, [['service', 'stage', 'channel', 'retryable']])
  t.deepEqual([failed?.retryable, failed?.[METRIC.failed]], ['true', 2])
  const invalid = emf.find((item) => item.channel === undefined)
  t.deepEqual([invalid?._aws.CloudWatchMetrics[0]?.Dimensions, invalid?.[METRIC.invalidMessages]], [[['service', 'stage']], 1])
  t.ok(emf.every((item) => item.stage === 'staging'), 'every line names the stage')
  t.end()
})

test("a channel gets ready (warm) before the gate's wait for its slot, so the call made at the slot only sends", async (t) => {
  const steps: string[] = []
  class WarmingChannel extends MemoryChannel {
    async warm(): Promise<void> {
      steps.push(`${this.name} warm`)
    }
    override async deliver(notification: Notification): Promise<void> {
      steps.push(`${this.name} call`)
      await super.deliver(notification)
    }
  }
  const gate = {
    async pass(channel: ChannelName, _attempt: unknown, call: () => Promise<void>): Promise<void> {
      steps.push(`${channel} slot`)
      await call()
    },
  }
  const notifier = new Notifier([new WarmingChannel('webhook'), new MemoryChannel('email')], new MemoryDeliveryLog(), new MemoryGuard(), new MemoryMetrics(), () => DELIVERED_AT, gate)
  await notifier.handle(message('w', 1))
  t.deepEqual(steps, ['webhook warm', 'webhook slot', 'webhook call', 'email slot'], 'warm, then the slot, then the call; a channel without warm just waits for its slot')
})
