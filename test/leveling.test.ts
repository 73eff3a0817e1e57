import test from 'tape'
import { paced, percentile, queueDepth, type SandboxApp, startSandboxApp, stopAll, waitFor, WebhookReceiver } from '../scripts/lib/harness/index.ts'
import { apiClient } from './helpers/http.ts'

/**
 * Load leveling (SPEC "Measures that matter"): bursts of creates well over the
 * consumer's bound never put more than maxConcurrency x batchSize deliveries
 * in flight at the downstream, every task is delivered exactly once, and the
 * producer does not feel a slow downstream: its p95 with a downstream that
 * takes 1 s per delivery stays within 1.25x of its p95 with an instant one.
 *
 * The latency comparison has to hold on a busy machine (the suite runs files
 * side by side): the creates go in short bursts (rounds) in the order
 * instant, slow, slow, instant, slow, instant, instant, slow..., so that a
 * drift of the machine weighs on both modes alike; each round's p95 is that
 * burst's, and each mode's typical burst (the median of its rounds' p95s) is
 * compared, so that a neighbour's spike over a round or two moves neither
 * (as scripts/dashboard-overhead.ts measures the dashboard's cost).
 * The creates go to the app's API with its Lambdas kept warm (the harness's
 * baseUrl: the same handlers, tables and queue; scripts/lib/harness/warm-api.ts):
 * a create costs milliseconds there, so the rounds can be many, and its
 * latency is the producer's own rather than the sandbox's process start
 * (test/delivery.test.ts takes the whole path through the sandbox).
 */
const MAX_CONCURRENCY = 2
const BATCH_SIZE = 2
const BOUND = MAX_CONCURRENCY * BATCH_SIZE
const SLOW_MS = 1000
const FIRST_BURST = 16
const ROUNDS = 24
/** How many times an answer over the limit is measured again with ROUNDS more rounds. */
const EXTENSIONS = 2
const ROUND_SIZE = 16
const IN_FLIGHT_REQUESTS = 8
/** Creates in flight per round, and as many warm environments for the route, so none waits for an environment. */
const WARM_IN_FLIGHT = 3
const LIMIT = 1.25

const receiver = new WebhookReceiver()
let app: SandboxApp
const accepted: string[] = []

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b)
  return (sorted[(sorted.length - 1) >> 1]! + sorted[sorted.length >> 1]!) / 2
}

const setDownstream = (mode: 'instant' | 'slow'): void => {
  receiver.behaviour = { delayMs: mode === 'slow' ? SLOW_MS : 0, status: () => 200 }
}

/** Creates `count` tasks at `inFlight` at a time through `baseUrl`; their ids and latencies. */
async function burst(baseUrl: string, label: string, count: number, inFlight = IN_FLIGHT_REQUESTS): Promise<{ ids: string[]; latencies: number[]; statuses: number[] }> {
  const api = apiClient(baseUrl, app.token)
  const responses = await paced(count, inFlight, (index) => api('POST', '/tasks', { body: { title: `${label} ${index}` } }))
  const ids = responses.filter((response) => response.status === 201).map((response) => response.body.id as string)
  accepted.push(...ids)
  return { ids, latencies: responses.map((response) => response.ms), statuses: responses.map((response) => response.status) }
}

/** Waits until the downstream has had each of `ids` delivered and the queue is empty. */
async function drained(ids: string[]): Promise<void> {
  await waitFor(
    `${ids.length} deliveries and an empty queue`,
    async () => {
      const delivered = new Set(receiver.deliveredIds())
      if (!ids.every((id) => delivered.has(`task_created:${id}:1`))) return undefined
      const depth = await queueDepth(app.sqs, app.queueUrl)
      return depth.visible + depth.inFlight + depth.delayed === 0 ? true : undefined
    },
    120_000,
  )
}

test(`start the app with a small bound (${MAX_CONCURRENCY} x ${BATCH_SIZE})`, async (t) => {
  const url = await receiver.listen()
  app = await startSandboxApp({
    name: 'leveling',
    queue: { batchSize: BATCH_SIZE, batchWindow: 1, maxConcurrency: MAX_CONCURRENCY, visibilityTimeout: 10 },
    consumerTimeout: 10,
    env: { NOTIFY_WEBHOOK_URL: url, NOTIFY_WEBHOOK_TIMEOUT_MS: '5000' },
    warmEnvironments: WARM_IN_FLIGHT,
  })
  t.pass('sandbox started')
})

test(`a burst of ${FIRST_BURST} creates against a slow downstream: each delivered once, at most ${BOUND} in flight at the downstream`, async (t) => {
  setDownstream('slow')
  const { ids, statuses } = await burst(app.baseUrl, 'first burst', FIRST_BURST)
  t.deepEqual([...new Set(statuses)], [201], 'every create was accepted')
  await drained(ids)
  const delivered = receiver.deliveredIds()
  t.deepEqual([...delivered].sort(), ids.map((id) => `task_created:${id}:1`).sort(), 'each task delivered exactly once')
  t.ok(receiver.maxInFlight <= BOUND, `at most ${BOUND} deliveries in flight at the downstream (saw ${receiver.maxInFlight})`)
  t.ok(receiver.maxInFlight >= 2, `the consumer does work in parallel (saw ${receiver.maxInFlight})`)
})

test(`the producer's p95 with a slow downstream stays within ${LIMIT}x of an instant one: ${ROUNDS} rounds of ${ROUND_SIZE} creates in alternating bursts`, async (t) => {
  receiver.resetStats()
  // One create per request in flight first, unmeasured: each starts a warm environment, a cold start no round should pay.
  setDownstream('instant')
  await burst(app.baseUrl, 'warm-up', WARM_IN_FLIGHT, WARM_IN_FLIGHT)
  const rounds: Array<{ mode: 'instant' | 'slow'; latencies: number[] }> = []
  const measure = async (count: number): Promise<void> => {
    for (let round = rounds.length, last = rounds.length + count; round < last; round++) {
      // instant, slow, slow, instant, slow, instant, instant, slow: each mode as often first as second.
      const mode = (Math.floor((round + 1) / 2) + Math.floor(round / 4)) % 2 === 0 ? 'instant' : 'slow'
      setDownstream(mode)
      const { latencies, statuses } = await burst(app.baseUrl, `${mode} round ${round + 1}`, ROUND_SIZE, WARM_IN_FLIGHT)
      if (statuses.some((status) => status !== 201)) t.fail(`round ${round + 1}: every create accepted (${statuses.join(', ')})`)
      rounds.push({ mode, latencies })
    }
  }
  // Each round is one burst and its p95 that burst's; a mode's typical burst is the median of its rounds' p95s, so a
  // neighbour's spike over a round or two (on either side) moves neither, while the ABBA order gives both modes the same drift.
  const roundP95s = (mode: 'instant' | 'slow'): number[] => rounds.filter((round) => round.mode === mode).map((round) => percentile(round.latencies, 95))
  const typical = (): { instant: number; slow: number } => ({ instant: median(roundP95s('instant')), slow: median(roundP95s('slow')) })
  await measure(ROUNDS)
  // On two busy cores, the medians of 12 short bursts each still spread by about a fifth from run to run (ratios 0.7 to
  // 1.4 with nothing changed). An answer over the limit is measured again with more rounds and judged on all of them:
  // the estimate narrows, while a producer that really waited on the downstream (a ratio of 10 and more) fails every time.
  let medians = typical()
  for (let extension = 0; medians.slow > medians.instant * LIMIT && extension < EXTENSIONS; extension++) {
    t.comment(`ratio ${(medians.slow / medians.instant).toFixed(2)} after ${rounds.length} rounds: ${ROUNDS} more`)
    await measure(ROUNDS)
    medians = typical()
  }
  const { instant, slow } = medians
  const all = (mode: 'instant' | 'slow'): number[] => rounds.filter((round) => round.mode === mode).flatMap((round) => round.latencies)
  t.comment(`producer p95 by round: ${rounds.map((round) => `${round.mode} ${percentile(round.latencies, 95).toFixed(0)}`).join(', ')} ms`)
  t.comment(`over all ${rounds.length * ROUND_SIZE} creates: instant p95 ${percentile(all('instant'), 95).toFixed(0)} ms, slow p95 ${percentile(all('slow'), 95).toFixed(0)} ms`)
  t.equal(rounds.filter((round) => round.mode === 'slow').length, rounds.length / 2, 'half the rounds against the slow downstream')
  t.ok(slow <= instant * LIMIT, `a burst's p95 with the slow downstream, ${slow.toFixed(0)} ms, is at most ${LIMIT} x that with the instant one, ${instant.toFixed(0)} ms (median over ${rounds.length / 2} bursts each: ratio ${(slow / instant).toFixed(2)})`)
})

test('the rounds: no notification delivered twice, none for a task never created, never more than the bound in flight at the downstream', (t) => {
  // The rounds' backlog is not waited for (the sandbox burst above proves every task delivered exactly once); the app stops with it.
  const delivered = receiver.deliveredIds()
  const created = new Set(accepted.map((id) => `task_created:${id}:1`))
  t.equal(new Set(delivered).size, delivered.length, `no notification twice (${delivered.length} delivered while the rounds ran)`)
  t.ok(delivered.every((id) => created.has(id)), 'each for a task the rounds created')
  t.ok(receiver.maxInFlight <= BOUND, `at most ${BOUND} deliveries in flight at the downstream (saw ${receiver.maxInFlight})`)
  t.end()
})

test('stop', async (t) => {
  await stopAll(app, receiver)
  t.pass('stopped')
})
