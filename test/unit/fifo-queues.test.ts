import {
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SendMessageCommand,
  type Message,
  type SendMessageCommandInput,
} from '@aws-sdk/client-sqs'
import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda'
import test from 'tape'
import { EventSourceMapping } from 'arc-plugin-sqs-queues/event-source-mapping'
import { LocalQueueEvents } from 'arc-plugin-sqs-queues/local-events'
import { localQueueNames } from 'arc-plugin-sqs-queues/local-queues'
import type { QueueSettings } from 'arc-plugin-sqs-queues/settings'
import { sdkRefusal as refusal } from '../helpers/refusal.ts'
import { queueSettings, sleep, startLocalSqs, waitFor } from '../../scripts/lib/harness/index.ts'

/**
 * FIFO queues locally as on AWS, against the plugin's local SQS and its event
 * source mapping with a consumer of the test's own: a message group is handed
 * out in order and never to two consumers at once, a failed message holds its
 * group back until it succeeds or reaches the FIFO DLQ, deduplication lasts the
 * deduplication interval (shortened here) also after the first copy was
 * deleted, and sends SQS refuses are refused. Standard queues stay as they were.
 */

// Long enough for a send, a receive, a delete and a send again on a busy machine (0.5 s was not, nor once was 3 s when
// this file ran at nice 19 beside the latency comparison), short enough to wait out twice. The two waits are not run side
// by side on their two queues: tried, a receive right after a send on one queue once came back empty while the other
// queue was busy.
const DEDUPLICATION_SECONDS = 5

// The test's consumers answer in milliseconds: a 1 s consumer timeout is plenty.
const fast = (overrides: Partial<QueueSettings> & Pick<QueueSettings, 'name'>): QueueSettings => queueSettings({ consumerTimeout: 1, ...overrides })
const byContent = { contentBasedDeduplication: true }
const queue = {
  ordered: fast({ name: 'ordered', fifo: byContent, batchSize: 3, maxConcurrency: 3 }),
  flaky: fast({ name: 'flaky', fifo: byContent, batchSize: 3, visibilityTimeout: 1 }),
  poison: fast({ name: 'poison', fifo: byContent, batchSize: 1, visibilityTimeout: 1, maxReceiveCount: 2 }),
  groups: fast({ name: 'groups', fifo: { contentBasedDeduplication: false } }),
  content: fast({ name: 'content', fifo: byContent }),
  standard: fast({ name: 'standard' }),
}

const local = await startLocalSqs(Object.values(queue), { deduplicationIntervalSeconds: DEDUPLICATION_SECONDS })
const { address, sqs } = local
test.onFinish(() => void local.close())

const urlOf = (settings: QueueSettings): string => local.url(localQueueNames(settings).queue)
const dlqUrlOf = (settings: QueueSettings): string => local.url(localQueueNames(settings).dlq)

async function send(settings: QueueSettings, body: string, fields: Partial<SendMessageCommandInput> = {}): Promise<string> {
  const { MessageId = '' } = await sqs.send(new SendMessageCommand({ QueueUrl: urlOf(settings), MessageBody: body, ...fields }))
  return MessageId
}

async function receive(url: string, max = 10): Promise<Message[]> {
  const { Messages = [] } = await sqs.send(
    new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: max, WaitTimeSeconds: 0, AttributeNames: ['All'], VisibilityTimeout: 30 }),
  )
  return Messages
}

async function remove(url: string, messages: Message[]): Promise<void> {
  for (const message of messages) await sqs.send(new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: message.ReceiptHandle }))
}

const bodies = (messages: Message[]): string[] => messages.map((message) => message.Body ?? '')

test('a FIFO queue and its DLQ are named as SQS names them, both FIFO with the same deduplication', async (t) => {
  t.deepEqual(localQueueNames(queue.ordered), { queue: 'ordered.fifo', dlq: 'ordered-dlq.fifo' })
  t.deepEqual(localQueueNames(queue.standard), { queue: 'standard', dlq: 'standard-dlq' }, 'a standard queue keeps its plain names')
  const attributesOf = async (url: string) => (await sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['All'] }))).Attributes ?? {}
  const main = await attributesOf(urlOf(queue.groups))
  const dlq = await attributesOf(dlqUrlOf(queue.groups))
  t.equal(main.FifoQueue, 'true')
  t.equal(main.ContentBasedDeduplication, 'false', 'contentBasedDeduplication false as the settings say')
  t.equal(dlq.FifoQueue, 'true', 'the DLQ of a FIFO queue is FIFO')
  t.equal(dlq.ContentBasedDeduplication, 'false')
  t.equal(JSON.parse(main.RedrivePolicy ?? '{}').deadLetterTargetArn, local.arn('groups-dlq.fifo'))
  t.equal((await attributesOf(urlOf(queue.content))).ContentBasedDeduplication, 'true')
  t.equal((await attributesOf(urlOf(queue.standard))).FifoQueue, undefined, 'the standard queue is not FIFO')
  t.end()
})

test('sends SQS refuses on a FIFO queue are refused with its error codes', async (t) => {
  t.equal((await refusal(send(queue.content, 'no group'))).name, 'MissingParameter', 'no MessageGroupId')
  const noDeduplication = await refusal(send(queue.groups, 'no id', { MessageGroupId: 'g' }))
  t.equal(noDeduplication.name, 'InvalidParameterValue', 'no MessageDeduplicationId on a queue without content-based deduplication')
  t.match(noDeduplication.message, /ContentBasedDeduplication/)
  t.equal((await refusal(send(queue.content, 'delayed', { MessageGroupId: 'g', DelaySeconds: 5 }))).name, 'InvalidParameterValue', 'no per-message delay on FIFO')
  const undelayed = [
    await send(queue.content, 'delay 0', { MessageGroupId: 'zero', DelaySeconds: 0 }),
    (await sqs.send(new SendMessageBatchCommand({ QueueUrl: urlOf(queue.content), Entries: [{ Id: 'a', MessageBody: 'batch delay 0', MessageGroupId: 'zero', DelaySeconds: 0 }] }))).Successful?.[0]?.MessageId,
  ]
  t.ok(undelayed.every(Boolean), 'but DelaySeconds 0 is accepted, as SQS accepts it (arc.queues.publish always sends it)')
  const zero = await receive(urlOf(queue.content))
  t.deepEqual(bodies(zero), ['delay 0', 'batch delay 0'])
  await remove(urlOf(queue.content), zero)
  const batch = sqs.send(new SendMessageBatchCommand({ QueueUrl: urlOf(queue.groups), Entries: [{ Id: 'a', MessageBody: 'x', MessageGroupId: 'g' }] }))
  t.equal((await refusal(batch)).name, 'InvalidParameterValue', 'so is a batch with an entry without one')
  t.equal((await refusal(send(queue.standard, 'x', { MessageDeduplicationId: 'd' }))).name, 'InvalidParameterValue', 'a standard queue takes no deduplication id')
  t.deepEqual(await receive(urlOf(queue.groups)), [], 'nothing refused was sent')
  t.end()
})

test("a receive hands out no message of a group with one in flight, and a group's messages in order", async (t) => {
  const url = urlOf(queue.groups)
  for (const [index, body] of ['a1', 'a2', 'a3', 'b1', 'b2'].entries()) await send(queue.groups, body, { MessageGroupId: body[0], MessageDeduplicationId: `order-${index}` })
  const first = await receive(url, 2)
  t.deepEqual(bodies(first), ['a1', 'a2'], 'the first receive: the oldest of group a, in order')
  const second = await receive(url)
  t.deepEqual(bodies(second), ['b1', 'b2'], 'the next receive skips group a, which has messages in flight')
  await remove(url, first.slice(0, 1))
  t.deepEqual(bodies(await receive(url)), [], 'a2 still in flight: a3 waits')
  await remove(url, [...first.slice(1), ...second])
  const third = await receive(url)
  t.deepEqual(bodies(third), ['a3'], 'once a1 and a2 are deleted, a3')
  t.equal(third[0]?.Attributes?.MessageGroupId, 'a')
  await remove(url, third)
  t.end()
})

test('deduplication by id lasts the interval, also after the first copy was deleted', async (t) => {
  const url = urlOf(queue.groups)
  const firstId = await send(queue.groups, 'first', { MessageGroupId: 'g', MessageDeduplicationId: 'dedup-1' })
  await remove(url, await receive(url))
  const again = await send(queue.groups, 'second copy', { MessageGroupId: 'other', MessageDeduplicationId: 'dedup-1' })
  t.equal(again, firstId, 'accepted, answered with the first copy’s MessageId (deduplication scope: the queue)')
  t.deepEqual(await receive(url), [], 'and not delivered')
  await sleep(DEDUPLICATION_SECONDS * 1000 + 100)
  const later = await send(queue.groups, 'after the interval', { MessageGroupId: 'g', MessageDeduplicationId: 'dedup-1' })
  t.notEqual(later, firstId, 'after the interval the same id is a new message')
  const delivered = await receive(url)
  t.deepEqual(bodies(delivered), ['after the interval'])
  await remove(url, delivered)
  t.end()
})

test('content-based deduplication: the same body within the interval is one message, also after delete; another body is not', async (t) => {
  const url = urlOf(queue.content)
  const firstId = await send(queue.content, '{"same":"body"}', { MessageGroupId: 'g' })
  await remove(url, await receive(url))
  t.equal(await send(queue.content, '{"same":"body"}', { MessageGroupId: 'g' }), firstId, 'the same body again: a duplicate')
  await send(queue.content, '{"other":"body"}', { MessageGroupId: 'g' })
  const delivered = await receive(url)
  t.deepEqual(bodies(delivered), ['{"other":"body"}'], 'only the other body is delivered')
  await remove(url, delivered)
  await sleep(DEDUPLICATION_SECONDS * 1000 + 100)
  await send(queue.content, '{"same":"body"}', { MessageGroupId: 'g' })
  const later = await receive(url)
  t.deepEqual(bodies(later), ['{"same":"body"}'], 'after the interval the same body is delivered again')
  await remove(url, later)
  t.end()
})

test('a standard queue is unchanged: no group holds anything back, an identical body is another message', async (t) => {
  const url = urlOf(queue.standard)
  for (const body of ['s1', 's2', 's2']) await send(queue.standard, body, { MessageGroupId: 'fair' })
  const first = await receive(url, 1)
  const rest = await receive(url)
  t.deepEqual(bodies([...first, ...rest]).sort(), ['s1', 's2', 's2'], 'all three handed out while the first is in flight')
  await remove(url, [...first, ...rest])
  t.end()
})

interface Invocation {
  records: SQSRecord[]
  started: number
  ended: number
}

/** The event source mapping of a queue with a consumer that `handle` plays; each invocation is recorded with its time span. */
function mappingWith(settings: QueueSettings, handle: (records: SQSRecord[]) => Promise<SQSBatchResponse>) {
  const invocations: Invocation[] = []
  const warnings: string[] = []
  const mapping = new EventSourceMapping({
    client: sqs,
    queue: settings,
    queueUrl: urlOf(settings),
    queueArn: local.arn(localQueueNames(settings).queue),
    region: address.region,
    environment: () => ({
      invoke: async (event: SQSEvent) => {
        const started = Date.now()
        const response = await handle(event.Records)
        invocations.push({ records: event.Records, started, ended: Date.now() })
        return response
      },
      stop: async () => {},
    }),
    log: { info: () => {}, warn: (line) => warnings.push(line) },
    events: new LocalQueueEvents(),
  })
  return { mapping, invocations, warnings }
}

const groupOf = (record: SQSRecord): string => record.attributes.MessageGroupId ?? ''
const overlap = (a: Invocation, b: Invocation): boolean => a.started < b.ended && b.started < a.ended

test('the event source mapping: each group in order, batches of several groups, never a group in two invocations at once', async (t) => {
  const groups = ['g0', 'g1', 'g2', 'g3']
  const perGroup = 8
  // Sent interleaved, as several producers would: g0-0, g1-0, ..., g0-1, ...
  for (let seq = 0; seq < perGroup; seq++) {
    const entries = groups.map((group) => ({ Id: group, MessageBody: `${group}-${seq}`, MessageGroupId: group }))
    await sqs.send(new SendMessageBatchCommand({ QueueUrl: urlOf(queue.ordered), Entries: entries }))
  }
  const { mapping, invocations } = mappingWith(queue.ordered, async (records) => {
    await sleep(20 + 15 * (records.length % 3))
    return { batchItemFailures: [] }
  })
  mapping.start()
  await waitFor('every message handled', () => (invocations.flatMap((call) => call.records).length >= groups.length * perGroup ? true : undefined), 20_000, 20)
  await mapping.stop()

  for (const group of groups) {
    const handled = invocations.flatMap((call) => call.records.filter((record) => groupOf(record) === group).map((record) => record.body))
    t.deepEqual(handled, Array.from({ length: perGroup }, (_, seq) => `${group}-${seq}`), `${group}: each message once, in order`)
    const holding = invocations.filter((call) => call.records.some((record) => groupOf(record) === group))
    const overlapping = holding.flatMap((a, index) => holding.slice(index + 1).filter((b) => overlap(a, b)))
    t.equal(overlapping.length, 0, `${group}: in ${holding.length} invocations, never two at once`)
  }
  t.ok(
    invocations.some((a, index) => invocations.slice(index + 1).some((b) => overlap(a, b))),
    'invocations did run at once (maxConcurrency 3), so the groups were really spread',
  )
  t.ok(
    invocations.some((call) => new Set(call.records.map(groupOf)).size > 1),
    'a batch may hold several groups, as on Lambda',
  )
  const first = invocations[0]?.records[0]
  t.ok(first?.attributes.MessageGroupId && first.attributes.SequenceNumber && first.attributes.MessageDeduplicationId, 'records carry MessageGroupId, SequenceNumber and MessageDeduplicationId')
  t.equal(first?.eventSourceARN, local.arn('ordered.fifo'))
})

test('a failed message holds its group back until it succeeds, while the other groups flow', async (t) => {
  const sent = [
    ['f-0', 'f'], ['f-1', 'f'], ['f-2', 'f'], ['f-3', 'f'],
    ...Array.from({ length: 6 }, (_, seq) => [[`x-${seq}`, 'x'], [`y-${seq}`, 'y']]).flat(),
  ]
  for (const [body, group] of sent) await send(queue.flaky, body ?? '', { MessageGroupId: group })
  const handled: { body: string; at: number }[] = []
  let failedOnce = false
  const { mapping, invocations } = mappingWith(queue.flaky, async (records) => {
    const failures: { itemIdentifier: string }[] = []
    for (const record of records) {
      // As a FIFO consumer must: after a failure, the rest of that group is reported failed unprocessed.
      if (failures.length && records.some((other) => failures.some((failure) => failure.itemIdentifier === other.messageId && groupOf(other) === groupOf(record)))) {
        failures.push({ itemIdentifier: record.messageId })
        continue
      }
      if (record.body === 'f-1' && !failedOnce) {
        failedOnce = true
        failures.push({ itemIdentifier: record.messageId })
        continue
      }
      handled.push({ body: record.body, at: Date.now() })
      await sleep(5)
    }
    return { batchItemFailures: failures }
  })
  mapping.start()
  await waitFor('every message handled', () => (handled.length >= sent.length ? true : undefined), 20_000, 20)
  await mapping.stop()

  const order = (group: string) => handled.filter(({ body }) => body.startsWith(`${group}-`)).map(({ body }) => body)
  t.deepEqual(order('f'), ['f-0', 'f-1', 'f-2', 'f-3'], 'the group is handled in order, f-1 after its retry, before f-2')
  t.deepEqual(order('x'), Array.from({ length: 6 }, (_, seq) => `x-${seq}`))
  t.deepEqual(order('y'), Array.from({ length: 6 }, (_, seq) => `y-${seq}`))
  const retried = handled.find(({ body }) => body === 'f-1')?.at ?? 0
  const othersDone = Math.max(...handled.filter(({ body }) => !body.startsWith('f-')).map(({ at }) => at))
  t.ok(othersDone < retried, `groups x and y were done (${othersDone}) while f waited for f-1's visibility timeout (${retried})`)
  const failedAt = Math.min(...invocations.filter((call) => call.records.some((record) => record.body === 'f-1')).map((call) => call.ended))
  t.ok(retried - failedAt >= 900, `f-1 came back after its 1 s visibility timeout (${retried - failedAt} ms), nothing of f in between`)
})

test('a message that keeps failing goes to the FIFO DLQ, then its group goes on', async (t) => {
  for (const body of ['p-0', 'p-1', 'p-2', 'q-0', 'q-1', 'q-2']) await send(queue.poison, body, { MessageGroupId: body[0] })
  const attempts: { body: string; receiveCount: string; at: number }[] = []
  const { mapping, warnings } = mappingWith(queue.poison, async (records) => {
    const failed = records.filter((record) => record.body === 'p-1')
    for (const record of records) attempts.push({ body: record.body, receiveCount: record.attributes.ApproximateReceiveCount, at: Date.now() })
    return { batchItemFailures: failed.map((record) => ({ itemIdentifier: record.messageId })) }
  })
  mapping.start()
  await waitFor('p-2 handled', () => (attempts.some(({ body }) => body === 'p-2') ? true : undefined), 20_000, 20)
  await mapping.stop()

  const poisonAttempts = attempts.filter(({ body }) => body === 'p-1')
  t.deepEqual(poisonAttempts.map(({ receiveCount }) => receiveCount), ['1', '2'], 'p-1 tried maxReceiveCount (2) times')
  const p2 = attempts.find(({ body }) => body === 'p-2')?.at ?? 0
  t.ok(p2 > (poisonAttempts[1]?.at ?? Infinity), 'p-2 only after the last attempt of p-1')
  t.ok(Math.max(...attempts.filter(({ body }) => body.startsWith('q-')).map(({ at }) => at)) < (poisonAttempts[1]?.at ?? 0), 'group q flowed meanwhile')
  const parked = await receive(dlqUrlOf(queue.poison))
  t.deepEqual(bodies(parked), ['p-1'], 'p-1 is in the FIFO DLQ')
  t.equal(parked[0]?.Attributes?.MessageGroupId, 'p', 'with its message group')
  t.ok(warnings.some((line) => line.includes('moving to poison-dlq.fifo')), 'the log names the FIFO DLQ')
  await remove(dlqUrlOf(queue.poison), parked)
})
