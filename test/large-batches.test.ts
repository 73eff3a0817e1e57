import { randomUUID } from 'node:crypto'
import test from 'tape'
import { inChunks } from 'arc-plugin-sqs-queues/event-source-mapping'
import { createdMessage, queueDepth, type SandboxApp, sendRaw, sleep, startSandboxApp, stopAll, waitFor, WebhookReceiver } from '../scripts/lib/harness/index.ts'

// batchSize above 10 (valid on AWS with a batch window) works locally: SQS
// deletes at most 10 messages per request, so a batch of 20 must be deleted in
// parts, or its records come back and end in the DLQ. The visibility timeout is
// longer than the wait below, so a record that was not deleted shows as in flight.
const BATCH_SIZE = 20
const MESSAGES = 45
const receiver = new WebhookReceiver()
let app: SandboxApp

// The plugin runs in this process and logs each batch with console.log
// ("[queues] @queues notifications: batch #3 (poller 1, 20 records): all done in 80 ms").
const logged: string[] = []
for (const level of ['log', 'warn'] as const) {
  const original = console[level].bind(console)
  console[level] = (...parts: unknown[]) => {
    logged.push(parts.map(String).join(' '))
    original(...parts)
  }
}
const BATCH_DONE = /batch #\d+ \(poller \d+, (\d+) records?\): all done/

test(`start the app with batchSize ${BATCH_SIZE} and a 1 s batch window`, async (t) => {
  const url = await receiver.listen()
  app = await startSandboxApp({
    name: 'large-batches',
    queue: { batchSize: BATCH_SIZE, batchWindow: 1, maxConcurrency: 2, maxReceiveCount: 2, visibilityTimeout: 30 },
    consumerTimeout: 10,
    env: { NOTIFY_WEBHOOK_URL: url, NOTIFY_WEBHOOK_TIMEOUT_MS: '5000' },
  })
  t.pass('sandbox started')
})

test(`${MESSAGES} messages are delivered once each, in batches of more than 10, and deleted`, async (t) => {
  const ids = Array.from({ length: MESSAGES }, () => randomUUID())
  for (const chunk of inChunks(ids, 10)) await sendRaw(app.sqs, app.queueUrl, chunk.map((id) => createdMessage(id, `large batch ${id}`)))

  await waitFor(
    'every delivery and an empty queue',
    async () => {
      if (receiver.deliveredIds().length < MESSAGES) return undefined
      const depth = await queueDepth(app.sqs, app.queueUrl)
      return depth.visible + depth.inFlight === 0 ? true : undefined
    },
    // Well under the visibility timeout: a record left undeleted keeps the queue from emptying.
    20_000,
  )
  // Room for a wrong second delivery to show.
  await sleep(1500)

  const delivered = receiver.deliveredIds()
  t.equal(delivered.length, MESSAGES, 'one delivery per message')
  t.deepEqual([...new Set(delivered)].sort(), ids.map((id) => `task_created:${id}:1`).sort(), 'each message reached the receiver exactly once')

  const batchSizes = logged.flatMap((line) => {
    const size = BATCH_DONE.exec(line)?.[1]
    return size === undefined ? [] : [Number(size)]
  })
  t.comment(`successful batches: ${batchSizes.join(', ')} records`)
  t.equal(
    batchSizes.reduce((sum, size) => sum + size, 0),
    MESSAGES,
    'the successful batches hold every message once',
  )
  t.ok(Math.max(...batchSizes) > 10, `at least one invocation got more than 10 records (largest ${Math.max(...batchSizes)})`)
  t.deepEqual(
    logged.filter((line) => line.includes('not deleted')),
    [],
    'no delete failed',
  )
  t.deepEqual(await queueDepth(app.sqs, app.queueUrl), { visible: 0, inFlight: 0, delayed: 0 }, 'the queue is empty, nothing in flight')
  t.deepEqual(await queueDepth(app.sqs, app.dlqUrl), { visible: 0, inFlight: 0, delayed: 0 }, 'the DLQ is empty')
})

test('stop', async (t) => {
  await stopAll(app, receiver)
  t.pass('stopped')
})
