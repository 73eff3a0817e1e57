import { randomUUID } from 'node:crypto'
import test from 'tape'
import { WebhookReceiver } from '../scripts/lib/webhook-receiver.ts'
import { startTestApp, type TestApp } from './helpers/app.ts'
import { apiClient, sleep, waitFor } from './helpers/http.ts'
import { createdMessage, drainView, queueDepth, sendRaw } from './helpers/queue.ts'

// Backoff and exactly-once effect. The queue's visibility timeout is 30 s, so
// anything that comes back sooner came back through the consumer's backoff
// (ChangeMessageVisibility, 1 s x 2^(receives-1) here).
const VISIBILITY_SECONDS = 30
const receiver = new WebhookReceiver()
/** Tasks whose deliveries the downstream refuses, and how many more times (Infinity: it stays down). */
const refusals = new Map<string, number>()
receiver.behaviour = {
  delayMs: 0,
  status: (call) => {
    const left = refusals.get(call.body.taskId) ?? 0
    refusals.set(call.body.taskId, left - 1)
    return left > 0 ? 503 : 200
  },
}
let app: TestApp
let api: ReturnType<typeof apiClient>

const callsFor = (notificationId: string) => receiver.calls.filter((call) => call.body.id === notificationId)

test('start the app with a long visibility timeout and a 1 s retry base', async (t) => {
  const url = await receiver.listen()
  app = await startTestApp({
    name: 'retries',
    queue: { batchSize: 10, batchWindow: 1, maxConcurrency: 2, maxReceiveCount: 3, visibilityTimeout: VISIBILITY_SECONDS },
    consumerTimeout: 10,
    env: { NOTIFY_WEBHOOK_URL: url, NOTIFY_WEBHOOK_TIMEOUT_MS: '3000', RETRY_BASE_SECONDS: '1', RETRY_MAX_SECONDS: '60' },
  })
  api = apiClient(app.baseUrl)
  t.pass('sandbox started')
})

test('a short outage of the downstream loses nothing to the DLQ', async (t) => {
  const taskId = randomUUID()
  refusals.set(taskId, 2)
  const started = Date.now()
  await sendRaw(app.sqs, app.queueUrl, [createdMessage(taskId, 'survives a short outage')])
  const id = `task_created:${taskId}:1`
  await waitFor('delivery after the outage', () => (receiver.deliveredIds().includes(id) ? true : undefined), VISIBILITY_SECONDS * 1000)
  const elapsed = (Date.now() - started) / 1000
  const calls = callsFor(id)
  t.equal(calls.length, 3, 'refused twice, then tried again')
  t.equal(calls.filter((call) => call.status === 200).length, 1, 'then delivered once')
  t.ok(elapsed < VISIBILITY_SECONDS, `back after ${elapsed.toFixed(1)} s, sooner than the ${VISIBILITY_SECONDS} s visibility timeout`)
  const log = await api<{ receiveCount: number }[]>('GET', `/tasks/${taskId}/notifications`)
  t.equal(log.body.length, 1)
  t.equal(log.body[0]?.receiveCount, calls.length, 'recorded with the receive that delivered it')
  t.equal((await queueDepth(app.sqs, app.dlqUrl)).visible, 0, 'nothing in the DLQ')
})

test('a downstream that stays down sends the message to the DLQ after maxReceiveCount, with backoff between tries', async (t) => {
  const taskId = randomUUID()
  refusals.set(taskId, Number.POSITIVE_INFINITY)
  const started = Date.now()
  await sendRaw(app.sqs, app.queueUrl, [createdMessage(taskId, 'never deliverable')])
  await waitFor('the message in the DLQ', async () => ((await queueDepth(app.sqs, app.dlqUrl)).visible >= 1 ? true : undefined), 60_000)
  const calls = callsFor(`task_created:${taskId}:1`)
  t.equal(calls.length, 3, 'tried maxReceiveCount times')
  const gaps = calls.slice(1).map((call, index) => (call.receivedAt - (calls[index]?.receivedAt ?? 0)) / 1000)
  t.ok(gaps.length === 2 && gaps[0]! >= 0.9 && gaps[1]! >= 1.9 && gaps[1]! > gaps[0]!, `waits grow: ${gaps.map((gap) => gap.toFixed(1)).join(' s, ')} s`)
  t.ok((Date.now() - started) / 1000 < VISIBILITY_SECONDS, 'in the DLQ well before one visibility timeout')
  const parked = await drainView(app.sqs, app.dlqUrl)
  t.ok(parked.some((message) => message.body.includes(taskId)), 'the DLQ holds it')
})

test('duplicates on the queue reach the downstream once, also in concurrent invocations', async (t) => {
  receiver.behaviour = { delayMs: 1500, status: () => 200 }
  const taskId = randomUUID()
  const copy = createdMessage(taskId, 'published more than once')
  // Three copies in one batch, then two more that other invocations pick up while the first is still delivering.
  await sendRaw(app.sqs, app.queueUrl, [copy, copy, copy])
  await sleep(300)
  await sendRaw(app.sqs, app.queueUrl, [copy])
  await sendRaw(app.sqs, app.queueUrl, [copy])
  const id = `task_created:${taskId}:1`
  await waitFor('all copies handled', async () => {
    const depth = await queueDepth(app.sqs, app.queueUrl)
    return callsFor(id).length > 0 && depth.visible + depth.inFlight === 0 ? true : undefined
  }, 60_000)
  t.equal(callsFor(id).length, 1, 'five copies, one delivery')

  await sendRaw(app.sqs, app.queueUrl, [copy])
  await waitFor('the late copy handled', async () => {
    const depth = await queueDepth(app.sqs, app.queueUrl)
    return depth.visible + depth.inFlight === 0 ? true : undefined
  })
  await sleep(500)
  t.equal(callsFor(id).length, 1, 'a copy redelivered after the delivery is skipped')
  const log = await api<unknown[]>('GET', `/tasks/${taskId}/notifications`)
  t.equal(log.body.length, 1, 'one delivery record')
  // The earlier test's drainView still holds the DLQ message in flight: count what the DLQ holds.
  const dlq = await queueDepth(app.sqs, app.dlqUrl)
  t.equal(dlq.visible + dlq.inFlight, 1, 'no copy went to the DLQ (only the earlier undeliverable message is there)')
})

test('stop', async (t) => {
  await app.stop()
  await receiver.close()
  t.pass('stopped')
})
