import { randomUUID } from 'node:crypto'
import test from 'tape'
import { apiClient } from './helpers/http.ts'
import { retryBudgetSeconds, retryDelaySeconds } from '../src/lib/notifications/retry.ts'
import { createdMessage, drainView, queueDepth, type SandboxApp, sendRaw, sleep, startSandboxApp, stopAll, TEST_CALLER, waitFor, WebhookReceiver } from '../scripts/lib/harness/index.ts'

// Backoff and exactly-once effect. The queue's visibility timeout is 30 s, so
// anything that comes back sooner came back through the consumer's backoff
// (ChangeMessageVisibility, 1 s x 2^(receives-1) here). With 4 receives the
// retry budget is 1 + 2 + 4 = 7 s: an outage shorter than that loses nothing,
// a longer one parks the message in the DLQ (the app's default is 5 receives,
// AWS's guidance; 4 keep the same growth and spare this test the fifth's 16 s).
const VISIBILITY_SECONDS = 30
const MAX_RECEIVES = 4
const POLICY = { baseSeconds: 1, maxSeconds: 60 }
const BUDGET_SECONDS = retryBudgetSeconds(MAX_RECEIVES, POLICY)
const receiver = new WebhookReceiver()
/** Per task: how the downstream refuses its deliveries: its first `refusals` calls, or for `lastsMs` counted from its first call. */
const outages = new Map<string, { refusals?: number; lastsMs?: number; since?: number; refused?: number }>()
receiver.behaviour = {
  delayMs: 0,
  status: (call) => {
    const outage = outages.get(call.body.taskId)
    if (!outage) return 200
    if (outage.refusals !== undefined) return (outage.refused = (outage.refused ?? 0) + 1) <= outage.refusals ? 503 : 200
    outage.since ??= call.receivedAt
    return call.receivedAt - outage.since < (outage.lastsMs ?? 0) ? 503 : 200
  },
}
let app: SandboxApp
let api: ReturnType<typeof apiClient>

const callsFor = (notificationId: string) => receiver.calls.filter((call) => call.body.id === notificationId)

test('start the app with a long visibility timeout and a 1 s retry base', async (t) => {
  t.equal(BUDGET_SECONDS, 7, 'the retry budget of these settings')
  const url = await receiver.listen()
  app = await startSandboxApp({
    name: 'retries',
    queue: { batchSize: 10, batchWindow: 0, maxConcurrency: 2, maxReceiveCount: MAX_RECEIVES, visibilityTimeout: VISIBILITY_SECONDS },
    consumerTimeout: 10,
    env: { NOTIFY_WEBHOOK_URL: url, NOTIFY_WEBHOOK_TIMEOUT_MS: '3000', RETRY_BASE_SECONDS: String(POLICY.baseSeconds), RETRY_MAX_SECONDS: String(POLICY.maxSeconds) },
  })
  api = apiClient(app.baseUrl, app.token)
  t.pass('sandbox started')
})

/** The long outage's message, sent beside the short one's so that the two waits overlap. */
const longOutage = { taskId: randomUUID(), sentAt: 0 }

test('an outage of the downstream shorter than the retry budget loses nothing to the DLQ', async (t) => {
  outages.set(longOutage.taskId, { lastsMs: BUDGET_SECONDS * 5 * 1000 })
  longOutage.sentAt = Date.now()
  await sendRaw(app.sqs, app.queueUrl, [createdMessage(longOutage.taskId, 'outlasts the budget', TEST_CALLER)])
  const taskId = randomUUID()
  // Down for its first two calls, counted rather than timed (a busy machine may start a retry late): back on the third
  // receive of four, after the backoff of the first two (1 + 2 s).
  outages.set(taskId, { refusals: 2 })
  await sendRaw(app.sqs, app.queueUrl, [createdMessage(taskId, 'survives a short outage', TEST_CALLER)])
  const id = `task_created:${taskId}:1`
  await waitFor('delivery after the outage', () => (receiver.deliveredIds().includes(id) ? true : undefined), BUDGET_SECONDS * 2000)
  const calls = callsFor(id)
  t.equal(calls.length, 3, 'refused twice while the downstream was down, then tried again')
  t.equal(calls.filter((call) => call.status === 200).length, 1, 'then delivered once')
  const outageSeconds = ((calls.at(-1)?.receivedAt ?? 0) - (calls[0]?.receivedAt ?? 0)) / 1000
  const backoff = retryDelaySeconds(1, POLICY) + retryDelaySeconds(2, POLICY)
  t.ok(outageSeconds >= backoff - 0.2 && outageSeconds < VISIBILITY_SECONDS, `back after ${outageSeconds.toFixed(1)} s: its backoff (${backoff} s), not the ${VISIBILITY_SECONDS} s visibility timeout`)
  const log = await api<{ receiveCount: number }[]>('GET', `/tasks/${taskId}/notifications`)
  t.equal(log.body.length, 1)
  t.equal(log.body[0]?.receiveCount, calls.length, 'recorded with the receive that delivered it')
  // Nothing of it in the DLQ: the next test counts exactly one message there, the long outage's.
})

test('an outage longer than the retry budget parks the message in the DLQ after maxReceiveCount tries, with growing waits', async (t) => {
  const { taskId, sentAt: started } = longOutage
  await waitFor('the message in the DLQ', async () => ((await queueDepth(app.sqs, app.dlqUrl)).visible >= 1 ? true : undefined), BUDGET_SECONDS * 5000)
  const calls = callsFor(`task_created:${taskId}:1`)
  t.equal(calls.length, MAX_RECEIVES, 'tried maxReceiveCount times')
  const gaps = calls.slice(1).map((call, index) => (call.receivedAt - (calls[index]?.receivedAt ?? 0)) / 1000)
  const waits = gaps.map((_, index) => retryDelaySeconds(index + 1, POLICY))
  t.ok(gaps.every((gap, index) => gap >= (waits[index] ?? 0) - 0.2), `each retry waits its backoff (${waits.join(', ')} s): ${gaps.map((gap) => gap.toFixed(1)).join(', ')} s`)
  const spent = ((calls.at(-1)?.receivedAt ?? 0) - (calls[0]?.receivedAt ?? 0)) / 1000
  t.ok(spent >= BUDGET_SECONDS - 0.5, `the retries rode out ${spent.toFixed(1)} s of the outage, the ${BUDGET_SECONDS} s budget`)
  t.ok((Date.now() - started) / 1000 < BUDGET_SECONDS * 5, 'in the DLQ while the downstream was still down')
  t.equal((await queueDepth(app.sqs, app.dlqUrl)).visible, 1, 'one message in the DLQ: the short outage put nothing there')
  const parked = await drainView(app.sqs, app.dlqUrl)
  t.ok(parked.some((message) => message.body.includes(taskId)), 'the DLQ holds it')
})

test('duplicates on the queue reach the downstream once, also in concurrent invocations', async (t) => {
  receiver.behaviour = { ...receiver.behaviour, delayMs: 1500 }
  const taskId = randomUUID()
  const copy = createdMessage(taskId, 'published more than once', TEST_CALLER)
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
  await stopAll(app, receiver)
  t.pass('stopped')
})
