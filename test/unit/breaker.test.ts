import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import test from 'tape'
import { toDeliveryFailure } from '../../src/lib/adapters/ses-email-channel.ts'
import { fixedSigningSecret, WebhookChannel } from '../../src/lib/adapters/webhook-channel.ts'
import { RETRY_AFTER_CAP_MS, type BreakerSettings } from '../../src/lib/leveling/breaker.ts'
import { LevelingGate } from '../../src/lib/leveling/gate.ts'
import { retryAfterMoment } from '../../src/lib/leveling/retry-after.ts'
import { DeliveryDeferredError, DeliveryFailedError } from '../../src/lib/notifications/channel.ts'
import { toNotification } from '../../src/lib/notifications/notification.ts'
import { retryVisibilitySeconds } from '../../src/lib/notifications/retry.ts'
import { ManualClock, MemoryBreakerStore, RecordingControl, RecordingLevelingMetrics } from '../helpers/memory-breaker-store.ts'

/**
 * The circuit breaker's rule, through the gate every delivery passes, on an
 * in-memory store with DynamoDB's conditional writes and a clock moved by
 * hand: which failures open it, for how long, the single probe, and
 * Retry-After.
 */

const SETTINGS: BreakerSettings = { failures: 5, openSeconds: 30, maxOpenSeconds: 100 }

function setup(settings: BreakerSettings = SETTINGS) {
  const clock = new ManualClock()
  const store = new MemoryBreakerStore(settings)
  const control = new RecordingControl()
  const metrics = new RecordingLevelingMetrics()
  // No cache: each pass reads the store, as if every record came in a new invocation.
  const gate = new LevelingGate({ store, channels: ['webhook'], settings, control, metrics, callBudgetMs: {}, now: clock.read, cacheMs: 0 })
  let calls = 0
  /** One delivery of `id` whose downstream call ends as `outcome`; what the gate made of it. */
  const deliver = async (id: string, outcome: 'ok' | 'retryable' | 'permanent' | { retryAt: number } = 'ok', messageId = `m-${id}`): Promise<string> => {
    try {
      await gate.pass('webhook', { notificationId: id, messageId, deadline: clock.now + 30_000 }, async () => {
        calls++
        if (outcome === 'ok') return
        if (outcome === 'permanent') throw new DeliveryFailedError('400', false)
        if (outcome === 'retryable') throw new DeliveryFailedError('503', true)
        throw new DeliveryFailedError('429', true, outcome.retryAt)
      })
      return 'delivered'
    } catch (error) {
      if (error instanceof DeliveryDeferredError) return `deferred ${error.until - clock.now}`
      if (error instanceof DeliveryFailedError) return `failed ${error.message}`
      throw error
    }
  }
  return { clock, store, control, metrics, gate, deliver, calls: () => calls }
}

test('retryable failures of BREAKER_FAILURES different notifications in a row open the breaker; the last one waits instead of failing', async (t) => {
  const { store, control, metrics, deliver, clock } = setup()
  for (const id of ['a', 'b', 'c', 'd']) t.equal(await deliver(id, 'retryable'), 'failed 503', `${id}: a failure, left to its retries`)
  t.equal(store.breaker('webhook').state, 'closed', 'four different failures: still closed')
  t.deepEqual(store.breaker('webhook').failing, ['a', 'b', 'c', 'd'], 'the streak holds their ids')
  t.equal(await deliver('e', 'retryable'), 'deferred 30000', 'the fifth opens it: that message waits the period out')
  const breaker = store.breaker('webhook')
  t.equal(breaker.state, 'open')
  t.equal(breaker.openUntil, clock.now + 30_000, 'for BREAKER_OPEN_SECONDS')
  t.equal(breaker.generation, 1)
  t.equal(breaker.reason, '5 failures')
  t.deepEqual(breaker.failing, [], 'the streak starts again')
  t.deepEqual(
    control.sent,
    [
      { message: { type: 'reconcile' }, delaySeconds: 0 },
      { message: { type: 'probe-due', channel: 'webhook', generation: 1 }, delaySeconds: 30 },
    ],
    'the winner asks to pause the consumer now and for a probe when the period ends',
  )
  t.deepEqual(metrics.events, ['opened webhook', 'deferred webhook'])
})

test('while open, nothing calls the downstream: every record waits until the period ends', async (t) => {
  const { deliver, clock, calls } = setup()
  for (const id of ['a', 'b', 'c', 'd', 'e']) await deliver(id, 'retryable')
  const before = calls()
  clock.advance(10_000)
  t.equal(await deliver('f'), 'deferred 20000', 'a record that arrives anyway (the pause takes effect late) waits the rest of the period')
  t.equal(calls(), before, 'and the downstream was not called')
})

test('one poison message failing again and again never opens the breaker', async (t) => {
  const { store, deliver } = setup()
  for (let receive = 1; receive <= 20; receive++) t.equal(await deliver('poison', 'retryable'), 'failed 503')
  t.equal(store.breaker('webhook').state, 'closed')
  t.deepEqual(store.breaker('webhook').failing, ['poison'], 'the streak counts it once')
})

test('a success between failures ends the streak; a permanent refusal neither counts nor ends it', async (t) => {
  const { store, deliver } = setup()
  for (const id of ['a', 'b', 'c', 'd']) await deliver(id, 'retryable')
  t.equal(await deliver('ok'), 'delivered')
  t.deepEqual(store.breaker('webhook').failing, [], 'reset by the success')
  for (const id of ['e', 'f', 'g', 'h']) await deliver(id, 'retryable')
  t.equal(await deliver('bad', 'permanent'), 'failed 400', "a 4xx is the message's own problem")
  t.deepEqual(store.breaker('webhook').failing, ['e', 'f', 'g', 'h'], 'not counted, not reset')
  t.equal(store.breaker('webhook').state, 'closed', 'still closed: only four in a row')
})

test('each failed probe doubles the period up to BREAKER_MAX_OPEN_SECONDS; a successful one closes it with the period back at its base', async (t) => {
  const { store, control, deliver, clock } = setup()
  for (const id of ['a', 'b', 'c', 'd', 'e']) await deliver(id, 'retryable')
  const periods: number[] = [store.breaker('webhook').openSeconds]
  for (let probe = 1; probe <= 4; probe++) {
    clock.advance(store.breaker('webhook').openSeconds * 1000)
    t.equal(await deliver(`p${probe}`, 'retryable'), `deferred ${Math.min(30 * 2 ** probe, 100) * 1000}`, `probe ${probe} failed: its own message waits too`)
    periods.push(store.breaker('webhook').openSeconds)
  }
  t.deepEqual(periods, [30, 60, 100, 100, 100], '30, doubled to 60, then capped at 100')
  t.equal(store.breaker('webhook').generation, 5, 'each reopening is a new generation')
  t.equal(control.sent.filter((sent) => sent.message.type === 'probe-due').length, 5, 'each opening asks for its probe')
  clock.advance(100_000)
  t.equal(await deliver('p5'), 'delivered', 'the probe that succeeds is delivered')
  const breaker = store.breaker('webhook')
  t.deepEqual([breaker.state, breaker.openSeconds, breaker.openUntil, breaker.probe], ['closed', 30, null, undefined], 'closed, back to the base period')
  t.deepEqual(control.sent.at(-1), { message: { type: 'reconcile' }, delaySeconds: 0 }, 'the closer asks for a reconcile')
  t.equal(await deliver('after'), 'delivered', 'and deliveries go on')
})

test('exactly one probe goes out, however many records arrive at once; a crashed prober is taken over once its claim expires', async (t) => {
  const { store, gate, clock } = setup()
  for (const id of ['a', 'b', 'c', 'd', 'e']) {
    await gate.pass('webhook', { notificationId: id, messageId: id, deadline: clock.now + 30_000 }, async () => Promise.reject(new DeliveryFailedError('503', true))).catch(() => undefined)
  }
  clock.advance(30_000)
  // Store calls take turns, so all twenty records read the breaker before any claim lands.
  store.latency = () => new Promise((resolve) => setImmediate(resolve))
  let probes = 0
  let release = (): void => {}
  const answered = new Promise<void>((resolve) => (release = resolve))
  let turnedAway = 0
  const outcomes = Promise.allSettled(
    Array.from({ length: 20 }, (_, index) =>
      gate
        .pass('webhook', { notificationId: `n${index}`, messageId: `m${index}`, deadline: clock.now + 10_000 }, async () => {
          probes++
          await answered
        })
        .finally(() => turnedAway++),
    ),
  )
  // Every record but the probe is answered while the probe is held: wait for those 19 answers, not for a guessed time (a busy machine may not run them in 50 ms).
  for (const deadline = Date.now() + 10_000; turnedAway < 19 && Date.now() < deadline; ) await new Promise((resolve) => setTimeout(resolve, 5))
  t.equal(probes, 1, 'one record holds the probe')
  t.equal(store.breaker('webhook').state, 'half-open')
  release()
  const settled = await outcomes
  t.equal(settled.filter((outcome) => outcome.status === 'fulfilled').length, 1, 'the probe was delivered')
  t.ok(
    settled.every((outcome) => outcome.status === 'fulfilled' || outcome.reason instanceof DeliveryDeferredError),
    'the other 19 wait (sent again for later), none failed',
  )
  t.equal(store.breaker('webhook').state, 'closed', 'the probe closed it')

  // A prober that crashed: its claim holds until its invocation's deadline, then another record takes the probe.
  store.latency = async () => {}
  const held = { ...store.breaker('webhook'), state: 'half-open' as const, generation: 7, probe: { messageId: 'crashed', claimedAt: clock.now, until: clock.now + 10_000 } }
  store.breakers.set('webhook', held)
  const before = probes
  const early = await gate.pass('webhook', { notificationId: 'x', messageId: 'x', deadline: clock.now + 10_000 }, async () => void probes++).then(
    () => 'delivered',
    (error: unknown) => (error instanceof DeliveryDeferredError ? 'deferred' : 'failed'),
  )
  t.equal(early, 'deferred', 'while the claim holds, others wait')
  clock.advance(10_001)
  await gate.pass('webhook', { notificationId: 'y', messageId: 'y', deadline: clock.now + 10_000 }, async () => void probes++)
  t.equal(probes, before + 1, 'after its deadline another record probes')
  t.equal(store.breaker('webhook').state, 'closed')
})

test('BREAKER_FAILURES=0 turns the breaker off: every delivery calls, nothing is stored', async (t) => {
  const { store, deliver, calls, control } = setup({ failures: 0, openSeconds: 30, maxOpenSeconds: 100 })
  for (let index = 0; index < 50; index++) t.equal(await deliver(`n${index}`, 'retryable'), 'failed 503')
  t.equal(await deliver('asked', { retryAt: Date.parse('2030-01-01T00:00:06.000Z') }), 'failed 429', 'a Retry-After fails the message, it does not open anything')
  t.equal(calls(), 51)
  t.deepEqual(store.writes, [], 'no breaker write')
  t.deepEqual(control.sent, [], 'no pause')
})

test('Retry-After opens the breaker at once, until the moment asked for, at most 24 h away', async (t) => {
  const { store, control, deliver, clock } = setup()
  t.equal(await deliver('a', { retryAt: clock.now + 6000 }), 'deferred 6000', 'one 429 with Retry-After: 6 is enough')
  t.deepEqual([store.breaker('webhook').state, store.breaker('webhook').openUntil, store.breaker('webhook').reason], ['open', clock.now + 6000, 'Retry-After'])
  t.deepEqual(control.sent.at(-1), { message: { type: 'probe-due', channel: 'webhook', generation: 1 }, delaySeconds: 6 }, 'the probe is due when it asked')
  t.equal(store.breaker('webhook').openSeconds, 30, 'the doubling period is not changed by it')
  clock.advance(5999)
  t.equal(await deliver('b'), 'deferred 1', 'nothing calls it a millisecond early')
  clock.advance(1)
  t.equal(await deliver('c'), 'delivered', 'at the moment asked for, the probe goes and closes it')

  const far = setup()
  t.equal(await far.deliver('a', { retryAt: far.clock.now + 3 * RETRY_AFTER_CAP_MS }), `deferred ${RETRY_AFTER_CAP_MS}`, 'three days asked: a day held')
  t.equal(far.control.sent.at(-1)?.delaySeconds, 900, "the timer is SQS's longest delay, chained until the day ends")
})

test("Retry-After is read as seconds or as an HTTP date; anything else is not a Retry-After", (t) => {
  const now = Date.parse('2030-01-01T00:00:00.000Z')
  t.equal(retryAfterMoment('6', now), now + 6000, 'seconds')
  t.equal(retryAfterMoment(' 120 ', now), now + 120_000, 'seconds, spaces trimmed')
  t.equal(retryAfterMoment('0', now), now, 'zero: at once')
  t.equal(retryAfterMoment('Tue, 01 Jan 2030 00:01:30 GMT', now), now + 90_000, 'an IMF-fixdate')
  t.equal(retryAfterMoment('Tuesday, 01-Jan-30 00:00:10 GMT', now), now + 10_000, 'the obsolete RFC 850 form')
  t.equal(retryAfterMoment('Mon, 31 Dec 2029 23:00:00 GMT', now), now, 'a date already past: now')
  for (const value of [undefined, null, '', '-5', '1.5', 'soon', '2030-01-01', '6 seconds']) t.equal(retryAfterMoment(value, now), undefined, `not a Retry-After: ${JSON.stringify(value)}`)
  t.end()
})

test('with the breaker off, a Retry-After still holds the message back: its visibility is at least that (up to 12 h)', (t) => {
  const policy = { baseSeconds: 1, maxSeconds: 60 }
  const now = Date.parse('2030-01-01T00:00:00.000Z')
  t.equal(retryVisibilitySeconds(1, policy, undefined, now), 1, 'the backoff alone')
  t.equal(retryVisibilitySeconds(1, policy, now + 6000, now), 6, 'Retry-After 6 s beats a 1 s backoff')
  t.equal(retryVisibilitySeconds(7, policy, now + 6000, now), 60, 'a longer backoff stays')
  t.equal(retryVisibilitySeconds(1, policy, now + 2 * 86_400_000, now), 43_200, "capped at SQS's 12 hours")
  t.end()
})

test('the webhook reads Retry-After on a 429 or a 503 (seconds or an HTTP date), and on no other answer', async (t) => {
  const answers: { status: number; retryAfter: string }[] = []
  const server = createServer((request, response) => {
    request.resume()
    const answer = answers.shift() ?? { status: 200, retryAfter: '' }
    response.writeHead(answer.status, answer.retryAfter ? { 'Retry-After': answer.retryAfter } : {}).end()
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`
  const channel = new WebhookChannel({ url, secret: undefined, secretParameter: undefined, timeoutMs: 2000 }, fixedSigningSecret(undefined))
  const at = '2030-01-01T00:00:00.000Z'
  const notification = toNotification({ event: 'task_created', body: { task: { id: 't', title: 'x', isComplete: false, version: 1, createdAt: at, updatedAt: at } } })
  const failure = async (status: number, retryAfter: string): Promise<DeliveryFailedError> => {
    answers.push({ status, retryAfter })
    const error = await channel.deliver(notification).then(() => undefined, (reason: unknown) => reason)
    if (!(error instanceof DeliveryFailedError)) throw new Error(`expected a DeliveryFailedError, got ${String(error)}`)
    return error
  }
  try {
    const before = Date.now()
    const seconds = await failure(429, '6')
    t.ok(seconds.retryable && (seconds.retryAt ?? 0) >= before + 6000 && (seconds.retryAt ?? 0) <= Date.now() + 6000, '429, Retry-After: 6: six seconds from now')
    const date = new Date(Math.ceil((Date.now() + 60_000) / 1000) * 1000)
    t.equal((await failure(503, date.toUTCString())).retryAt, date.getTime(), '503 with an HTTP date: that moment')
    t.equal((await failure(500, '6')).retryAt, undefined, 'a 500 asks for nothing, whatever its headers')
    t.equal((await failure(429, 'later')).retryAt, undefined, 'an unreadable value is no Retry-After (the failure still retries)')
  } finally {
    server.close()
  }
})

test("SES throttling carries the Retry-After of SES's answer when there is one", (t) => {
  const now = Date.parse('2030-01-01T00:00:00.000Z')
  const throttled = { name: 'TooManyRequestsException', message: 'Maximum sending rate exceeded.', $metadata: { httpStatusCode: 429 } }
  t.equal(toDeliveryFailure({ ...throttled, $response: { headers: { 'retry-after': '3' } } }, now).retryAt, now + 3000)
  t.equal(toDeliveryFailure(throttled, now).retryAt, undefined, 'none said: the breaker counts it as a failure like any other')
  t.equal(toDeliveryFailure(throttled, now).retryable, true)
  t.end()
})
