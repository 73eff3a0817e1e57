import { ReceiveMessageCommand, SendMessageBatchCommand } from '@aws-sdk/client-sqs'
import test from 'tape'
import { pythonMissing, startMockApp, waitFor, type MockApp } from './helpers/mock-app.ts'

/**
 * The mock app queues-app (test/mock/queues-app): plain JavaScript as a user
 * writes it, with a FIFO queue, two standard ones (one consumed in Python) and
 * an @events topic, each queue with keys of its own. Its route publishes with
 * @architect/functions; everything here goes through the plugin's local queues.
 */
let app: MockApp

interface OrderReceipt {
  payload: { id: string; seq: number }
  group: string
  receiveCount: number
  at: number
}
interface JobReceipt {
  payload: { id: string; fail?: boolean; nested?: unknown }
  at: number
}
interface ReportReceipt {
  payload: { id: string; failOnce?: boolean }
  receiveCount: number
  batchSize: number
  python: number
}

const DAY = 86_400
const unique = (label: string): string => `${label}-${Math.random().toString(36).slice(2, 10)}`

test('setup: the mock app in sandbox', async () => {
  app = await startMockApp('queues-app')
})

test('each queue gets its own keys, a FIFO queue and its DLQ FIFO too', async (t) => {
  const orders = await app.attributes('orders.fifo')
  t.equal(orders.FifoQueue, 'true', 'orders is FIFO, as Architect defaults')
  t.equal(orders.ContentBasedDeduplication, 'true', 'with content-based deduplication, as Architect deploys it')
  t.equal(orders.VisibilityTimeout, '30')
  t.equal(orders.MessageRetentionPeriod, String(2 * DAY))
  // No @aws region: Architect's default region, us-west-2.
  t.deepEqual(JSON.parse(orders.RedrivePolicy ?? '{}'), { deadLetterTargetArn: 'arn:aws:sqs:us-west-2:000000000000:orders-dlq.fifo', maxReceiveCount: 3 })
  t.equal((await app.attributes('orders-dlq.fifo')).FifoQueue, 'true', 'the FIFO queue has a FIFO DLQ')

  const jobs = await app.attributes('jobs')
  t.equal(jobs.FifoQueue, undefined, 'jobs is a standard queue (fifo false)')
  t.equal(jobs.VisibilityTimeout, '1')
  t.equal(jobs.MessageRetentionPeriod, String(1 * DAY))
  t.equal(JSON.parse(jobs.RedrivePolicy ?? '{}').maxReceiveCount, 2)
  t.equal((await app.attributes('jobs-dlq')).MessageRetentionPeriod, String(3 * DAY), "the DLQ keeps its messages dlqRetentionDays")

  const reports = await app.attributes('reports')
  t.equal(reports.VisibilityTimeout, '12')
  t.equal(JSON.parse(reports.RedrivePolicy ?? '{}').maxReceiveCount, 3)
})

test('arc.queues.publish to a FIFO queue with groupID: the group arrives in order, through the queue', async (t) => {
  const group = unique('group')
  const ids = Array.from({ length: 6 }, (_, seq) => ({ id: unique('order'), seq }))
  for (const payload of ids) {
    const published = await app.publish({ name: 'orders', payload, groupID: group })
    t.equal(published.status, 200, `order ${payload.seq} published`)
  }
  const ungrouped = unique('order')
  await app.publish({ name: 'orders', payload: { id: ungrouped, seq: 0 } })

  const receipts = await waitFor(
    'the orders',
    () => app.receipts<OrderReceipt>('orders'),
    (lines) => lines.filter((line) => line.group === group).length >= ids.length && lines.some((line) => line.payload.id === ungrouped),
  )
  const inGroup = receipts.filter((line) => line.group === group)
  t.deepEqual(
    inGroup.map((line) => line.payload.seq),
    ids.map((payload) => payload.seq),
    'the consumer got the group in publish order, each once',
  )
  t.ok(inGroup.every((line) => line.receiveCount === 1), 'each on its first receive')
  t.equal(receipts.find((line) => line.payload.id === ungrouped)?.group, 'orders', "without groupID the group is the queue's name, as arc publishes on AWS")
})

test('a FIFO queue refuses a per-message delay, as SQS does', async (t) => {
  const refused = await app.publish({ name: 'orders', payload: { id: unique('order') }, delaySeconds: 2 })
  t.equal(refused.status, 502, 'the route saw arc.queues.publish fail')
  t.match(refused.body.error ?? '', /DelaySeconds/, 'with SQS\'s reason')
})

test('arc.queues.publish with delaySeconds: the message arrives no earlier than the delay', async (t) => {
  const id = unique('delayed')
  const publishedAt = Date.now()
  const published = await app.publish({ name: 'jobs', payload: { id }, delaySeconds: 2 })
  t.equal(published.status, 200)
  t.ok(typeof (published.body.result as string) === 'string' && JSON.parse(published.body.result as string).MessageId, 'publish answers with the SendMessage result')
  const [receipt] = await waitFor('the delayed job', () => app.receipts<JobReceipt>('jobs').then((lines) => lines.filter((line) => line.payload.id === id)), (lines) => lines.length > 0)
  t.ok(receipt && receipt.at - publishedAt >= 2000, `received ${receipt ? receipt.at - publishedAt : '?'} ms after the publish (delay 2000 ms)`)
})

test('arc.queues.subscribe gets the payload; a consumer that throws gets the message again, then it moves to the DLQ', async (t) => {
  const id = unique('failing')
  const payload = { id, fail: true, nested: { list: [1, 'two'], text: 'ünïcode' } }
  t.equal((await app.publish({ name: 'jobs', payload })).status, 200)

  const attempts = await waitFor('two receives of the failing job', () => app.receipts<JobReceipt>('jobs').then((lines) => lines.filter((line) => line.payload.id === id)), (lines) => lines.length >= 2)
  t.deepEqual(attempts[0]?.payload, payload, "subscribe's handler got the published payload, parsed")
  t.deepEqual(attempts[1]?.payload, payload, 'and got it again after the failure')

  const moved = await waitFor(
    'the job in the DLQ',
    async () => (await app.sqs.send(new ReceiveMessageCommand({ QueueUrl: app.queueUrl('jobs-dlq'), MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }))).Messages ?? [],
    (messages) => messages.some((message) => JSON.parse(message.Body ?? '{}').id === id),
  )
  t.ok(moved.length >= 1, 'after maxReceiveCount (2) receives the message is in jobs-dlq')
  const later = await app.receipts<JobReceipt>('jobs')
  t.equal(later.filter((line) => line.payload.id === id).length, 2, 'the consumer got it exactly maxReceiveCount times')
})

test('a Python consumer runs through sandbox\'s invoker, with batches and partial batch responses', { skip: pythonMissing() }, async (t) => {
  const failOnce = unique('report')
  const ok = unique('report')
  // Sent in one SendMessageBatch, so that both are visible at once and one receive takes both: two publishes may each
  // go to one of the queue's two pollers. (arc.queues.publish's own path is tested above.)
  await app.sqs.send(
    new SendMessageBatchCommand({
      QueueUrl: app.queueUrl('reports'),
      Entries: [
        { Id: 'fail-once', MessageBody: JSON.stringify({ id: failOnce, failOnce: true }) },
        { Id: 'ok', MessageBody: JSON.stringify({ id: ok }) },
      ],
    }),
  )
  const receipts = await waitFor(
    'the reports',
    () => app.receipts<ReportReceipt>('reports'),
    (lines) => lines.some((line) => line.payload.id === failOnce && line.receiveCount === 2),
    // The failed record comes back when its 12 s visibility ends, then a Python process starts.
    30_000,
  )
  t.ok(receipts.every((line) => line.python === 3), 'handled by the Python handler')
  t.ok(receipts.some((line) => line.batchSize === 2), 'both records in one batch')
  t.deepEqual(
    receipts.filter((line) => line.payload.id === ok).map((line) => line.receiveCount),
    [1],
    'the record that succeeded was deleted: received once',
  )
  t.deepEqual(
    receipts.filter((line) => line.payload.id === failOnce).map((line) => line.receiveCount),
    [1, 2],
    'the record in batchItemFailures came back and succeeded on its second receive',
  )
})

test('@events still reach their subscriber through sandbox\'s event bus', async (t) => {
  const id = unique('ping')
  t.equal((await app.publish({ type: 'events', name: 'ping', payload: { id } })).status, 200)
  const [event] = await waitFor('the event', () => app.receipts<{ payload: { id: string } }>('events').then((lines) => lines.filter((line) => line.payload.id === id)), (lines) => lines.length > 0)
  t.equal(event?.payload.id, id)
})

test('the event bus refuses what a web page would send it', async (t) => {
  const id = unique('forged')
  const body = JSON.stringify({ name: 'jobs', payload: { id } })
  t.equal(await app.postToEventBus('/queues', body, { origin: 'http://evil.example', 'content-type': 'text/plain' }), 403, 'a cross-origin publish is refused')
  t.equal(await app.postToEventBus('/queues', body, { 'sec-fetch-site': 'cross-site' }), 403, 'so is one the browser says comes from another site')
  t.equal(await app.postToEventBus('/events', JSON.stringify({ name: 'ping', payload: { id } }), { host: 'evil.example' }), 403, 'a request for another host name (DNS rebinding) is refused, @events too')
  t.equal(await app.postToEventBus('/queues', JSON.stringify({ name: 'nope', payload: {} })), 404, 'a publish to a queue the app does not have is a 404')
  t.equal(await app.postToEventBus('/queues', '{not json'), 400, 'a body that is not JSON is a 400')
  await new Promise((resolve) => setTimeout(resolve, 1500))
  t.equal((await app.receipts<JobReceipt>('jobs')).filter((line) => line.payload.id === id).length, 0, 'nothing refused reached a consumer')
})

test('teardown', async () => {
  await app.stop()
})
