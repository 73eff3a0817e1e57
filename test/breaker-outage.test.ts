import { randomUUID } from 'node:crypto'
import test from 'tape'
import { consumerStatus, localConsumerTarget, type ConsumerTarget } from '../scripts/lib/consumer.ts'
import { messageCounts } from 'arc-plugin-sqs-queues/dlq-operations'
import { createdMessage, type SandboxApp, sendRaw, sleep, startSandboxApp, stopAll, TEST_CALLER, waitFor, WebhookReceiver } from '../scripts/lib/harness/index.ts'

/**
 * The circuit breaker end to end, in the sandbox: a downstream that is down
 * for a while during a burst is called a bounded number of times, the
 * consumer's event source mapping is disabled through the Lambda API while
 * its breaker is open, nothing reaches the DLQ (not even a message probed on
 * its last receive: maxReceiveCount is 2 here), and after the recovery every
 * notification reaches the downstream exactly once. A single poison message
 * never opens the breaker. Short periods keep it quick.
 */

const FAILURES = 3
const QUEUE = { batchSize: 5, batchWindow: 0, maxConcurrency: 2, maxReceiveCount: 2, visibilityTimeout: 20 }
const OUTAGE_MS = 9000
const BURST = 30

const receiver = new WebhookReceiver()
let outageEnds = Number.POSITIVE_INFINITY
const poisonTasks = new Set<string>()
receiver.behaviour = {
  delayMs: 0,
  status: (call) => (call.receivedAt < outageEnds || poisonTasks.has(call.body.taskId) ? 503 : 200),
}
let app: SandboxApp
let consumer: ConsumerTarget

/** Everything still on the queue: waiting, in flight, and the copies sent again for later. */
async function queueHolds(): Promise<number> {
  const counts = await messageCounts(app.sqs, app.queueUrl)
  return counts.messages + counts.delayed
}

test('start the app with a breaker of 3 failures, open 2 s doubling to 4 s, and maxReceiveCount 2', async (t) => {
  const url = await receiver.listen()
  app = await startSandboxApp({
    name: 'breaker-outage',
    queue: QUEUE,
    consumerTimeout: 10,
    env: {
      NOTIFY_WEBHOOK_URL: url,
      NOTIFY_WEBHOOK_TIMEOUT_MS: '2000',
      RETRY_BASE_SECONDS: '1',
      RETRY_MAX_SECONDS: '2',
      BREAKER_FAILURES: String(FAILURES),
      BREAKER_OPEN_SECONDS: '2',
      BREAKER_MAX_OPEN_SECONDS: '4',
    },
  })
  consumer = await localConsumerTarget()
  t.equal((await consumerStatus(consumer)).mapping, 'Enabled', 'the consumer runs')
})

test('a downstream down during a burst: the breaker pauses the consumer, calls stay bounded, nothing is lost or sent twice', async (t) => {
  const tasks = Array.from({ length: BURST }, () => randomUUID())
  const ids = tasks.map((task) => `task_created:${task}:1`)
  const started = Date.now()
  outageEnds = started + OUTAGE_MS
  for (let first = 0; first < BURST; first += 10) await sendRaw(app.sqs, app.queueUrl, tasks.slice(first, first + 10).map((task) => createdMessage(task, `burst ${first}`, TEST_CALLER)))

  const mappingStates = new Set<string>()
  while (Date.now() < outageEnds) {
    mappingStates.add((await consumerStatus(consumer)).mapping)
    await sleep(200)
  }
  const during = receiver.calls.filter((call) => call.receivedAt < outageEnds)
  const status = await consumerStatus(consumer)
  const openings = (await consumer.store.read(['webhook'])).breakers.webhook?.generation ?? 0
  t.ok(mappingStates.has('Disabled'), `the event source mapping was Disabled while the breaker was open (seen: ${[...mappingStates].join(', ')})`)
  t.ok(openings >= 2, `the breaker opened, and opened again after a failed probe (${openings} openings)`)
  const bound = FAILURES + QUEUE.maxConcurrency * QUEUE.batchSize + openings
  t.ok(during.length <= bound, `${during.length} downstream calls during the ${OUTAGE_MS / 1000} s outage, at most ${FAILURES} + ${QUEUE.maxConcurrency} x ${QUEUE.batchSize} + ${openings} (one per open period) = ${bound}`)
  t.equal(status.dlq.messages, 0, 'nothing in the DLQ during the outage')

  await waitFor('every notification delivered and the queue empty', async () => ((await queueHolds()) === 0 && ids.every((id) => receiver.deliveredIds().includes(id)) ? true : undefined), 30_000, 200)
  const delivered = receiver.deliveredIds()
  t.ok(
    ids.every((id) => delivered.filter((each) => each === id).length === 1),
    'each notification reached the downstream exactly once',
  )
  const after = await consumerStatus(consumer)
  t.deepEqual([after.breakers.webhook.state, after.mapping, after.dlq.messages], ['closed', 'Enabled', 0], 'closed, consuming, and no message in the DLQ')
  t.ok(Date.now() - outageEnds < 4000 + 30_000, `drained ${((Date.now() - outageEnds) / 1000).toFixed(1)} s after the recovery`)
})

test('a single poison message (503 for that task only) never opens the breaker: it goes to the DLQ, the others are delivered', async (t) => {
  const poison = randomUUID()
  poisonTasks.add(poison)
  const others = [randomUUID(), randomUUID(), randomUUID()]
  const openingsBefore = (await consumer.store.read(['webhook'])).breakers.webhook?.generation ?? 0
  await sendRaw(app.sqs, app.queueUrl, [createdMessage(poison, 'poison', TEST_CALLER), ...others.map((task) => createdMessage(task, 'healthy', TEST_CALLER))])
  const mappingStates = new Set<string>()
  await waitFor(
    'the poison message in the DLQ',
    async () => {
      const status = await consumerStatus(consumer)
      mappingStates.add(status.mapping)
      return status.dlq.messages >= 1 ? true : undefined
    },
    20_000,
    200,
  )
  const breaker = (await consumer.store.read(['webhook'])).breakers.webhook
  t.equal(receiver.calls.filter((call) => call.body.taskId === poison).length, QUEUE.maxReceiveCount, 'tried maxReceiveCount times, like any failing message')
  t.deepEqual([breaker?.state, breaker?.generation], ['closed', openingsBefore], 'the breaker never opened')
  t.deepEqual([...mappingStates], ['Enabled'], 'the consumer never paused')
  t.ok(others.every((task) => receiver.deliveredIds().includes(`task_created:${task}:1`)), 'the healthy messages beside it were delivered')
})

test('stop', async (t) => {
  await stopAll(consumer, app, receiver)
  t.pass('stopped')
})
