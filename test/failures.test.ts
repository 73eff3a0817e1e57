import { randomUUID } from 'node:crypto'
import test from 'tape'
import { apiClient } from './helpers/http.ts'
import { createdMessage, drainView, queueDepth, type SandboxApp, sendRaw, sleep, startSandboxApp, stopAll, TEST_CALLER, waitFor, WebhookReceiver } from '../scripts/lib/harness/index.ts'

// A record whose delivery fails is retried alone, maxReceiveCount times, then
// parked in the DLQ; its batch-mates are delivered once; malformed messages
// end in the DLQ too. Short timeouts keep the retries quick.
const MAX_RECEIVE_COUNT = 3
const receiver = new WebhookReceiver()
receiver.behaviour = { delayMs: 0, status: (call) => (call.body.task.title.startsWith('poison') ? 500 : 200) }
let app: SandboxApp

test('start the app with short visibility and a downstream that refuses "poison" tasks', async (t) => {
  const url = await receiver.listen()
  app = await startSandboxApp({
    name: 'failures',
    queue: { batchSize: 10, batchWindow: 1, visibilityTimeout: 8, maxReceiveCount: MAX_RECEIVE_COUNT },
    consumerTimeout: 8,
    env: { NOTIFY_WEBHOOK_URL: url, NOTIFY_WEBHOOK_TIMEOUT_MS: '1000', RETRY_BASE_SECONDS: '1' },
  })
  t.pass('sandbox started')
})

test('one failing record goes to the DLQ after maxReceiveCount receives; its batch-mates are delivered once', async (t) => {
  const good = [randomUUID(), randomUUID(), randomUUID()]
  const poison = randomUUID()
  await sendRaw(app.sqs, app.queueUrl, [
    createdMessage(good[0]!, 'good one', TEST_CALLER),
    createdMessage(poison, 'poison pill', TEST_CALLER),
    createdMessage(good[1]!, 'good two', TEST_CALLER),
    { event: 'task_exploded', body: JSON.stringify({ task: { id: randomUUID() } }) },
    { event: 'task_created', body: 'this is not json' },
    { body: JSON.stringify({ note: 'no event attribute' }) },
    createdMessage(good[2]!, 'good three', TEST_CALLER),
  ])

  const dead = await waitFor(
    'four messages in the DLQ',
    async () => ((await queueDepth(app.sqs, app.dlqUrl)).visible >= 4 ? true : undefined),
    40_000,
  )
  t.ok(dead, 'the DLQ filled')
  await sleep(1000)

  const poisonCalls = receiver.calls.filter((call) => call.body.taskId === poison)
  t.equal(poisonCalls.length, MAX_RECEIVE_COUNT, `the failing record was tried ${MAX_RECEIVE_COUNT} times`)
  t.ok(poisonCalls.every((call) => call.status === 500), 'and refused each time')

  const deliveredIds = receiver.deliveredIds()
  t.deepEqual(
    deliveredIds.sort(),
    good.map((id) => `task_created:${id}:1`).sort(),
    'each good record of the batch reached the downstream exactly once',
  )
  const api = apiClient(app.baseUrl, app.token)
  for (const id of good) {
    const log = await api<{ receiveCount: number }[]>('GET', `/tasks/${id}/notifications`)
    t.deepEqual(log.body.map((record) => record.receiveCount), [1], 'delivered on its first receive, not held back by the failing one')
  }

  t.deepEqual(await queueDepth(app.sqs, app.queueUrl), { visible: 0, inFlight: 0, delayed: 0 }, 'nothing is left on the main queue')
  const parked = await drainView(app.sqs, app.dlqUrl)
  t.equal(parked.length, 4, 'the DLQ holds exactly the four bad messages')
  t.ok(parked.some((message) => message.body.includes(poison)), 'the failing record is in the DLQ')
  t.ok(parked.some((message) => message.event === 'task_exploded'), 'the unknown event is in the DLQ')
  t.ok(parked.some((message) => message.body === 'this is not json'), 'the bad body is in the DLQ')
  t.ok(parked.some((message) => message.event === undefined), 'the message without an event attribute is in the DLQ')
})

test('stop', async (t) => {
  await stopAll(app, receiver)
  t.pass('stopped')
})
