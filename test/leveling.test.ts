import test from 'tape'
import { startTestApp, type TestApp } from './helpers/app.ts'
import { apiClient, paced, percentile, waitFor } from './helpers/http.ts'
import { queueDepth } from './helpers/queue.ts'
import { WebhookReceiver } from '../scripts/lib/webhook-receiver.ts'

// Load leveling: a burst of creates well over the consumer's bound never puts
// more than maxConcurrency x batchSize deliveries in flight at the downstream,
// every task is delivered exactly once, and the producer does not feel a slow
// downstream.
const MAX_CONCURRENCY = 2
const BATCH_SIZE = 2
const BOUND = MAX_CONCURRENCY * BATCH_SIZE
const BURST = 40
const IN_FLIGHT_REQUESTS = 8
const SLOW_MS = 1000

const receiver = new WebhookReceiver()
let app: TestApp
let api: ReturnType<typeof apiClient>

async function burst(label: string): Promise<{ ids: string[]; latencies: number[] }> {
  const responses = await paced(BURST, IN_FLIGHT_REQUESTS, (index) => api('POST', '/tasks', { body: { title: `${label} ${index}` } }))
  return { ids: responses.filter((response) => response.status === 201).map((response) => response.body.id as string), latencies: responses.map((response) => response.ms) }
}

async function drained(expected: number): Promise<void> {
  await waitFor(
    `${expected} deliveries`,
    async () => {
      if (receiver.deliveredIds().length < expected) return undefined
      const depth = await queueDepth(app.sqs, app.queueUrl)
      return depth.visible + depth.inFlight === 0 ? true : undefined
    },
    90_000,
  )
}

test(`start the app with a small bound (${MAX_CONCURRENCY} x ${BATCH_SIZE})`, async (t) => {
  const url = await receiver.listen()
  app = await startTestApp({
    name: 'leveling',
    queue: { batchSize: BATCH_SIZE, batchWindow: 1, maxConcurrency: MAX_CONCURRENCY, visibilityTimeout: 10 },
    consumerTimeout: 10,
    env: { NOTIFY_WEBHOOK_URL: url, NOTIFY_WEBHOOK_TIMEOUT_MS: '5000' },
  })
  api = apiClient(app.baseUrl, app.token)
  // One request per route warms the sandbox before anything is measured.
  await api('GET', '/tasks?limit=1')
  t.pass('sandbox started')
})

const latencies = { instant: [] as number[], slow: [] as number[] }

for (const round of [1, 2]) {
  for (const downstream of ['instant', 'slow'] as const) {
    test(`round ${round}: a burst of ${BURST} creates against an ${downstream} downstream`, async (t) => {
      receiver.resetStats()
      receiver.behaviour = { delayMs: downstream === 'slow' ? SLOW_MS : 0, status: () => 200 }
      const { ids, latencies: measured } = await burst(`${downstream} ${round}`)
      t.equal(ids.length, BURST, 'every create was accepted')
      latencies[downstream].push(...measured)
      await drained(BURST)

      const delivered = receiver.deliveredIds()
      t.equal(delivered.length, BURST, 'one delivery per task')
      t.deepEqual([...new Set(delivered)].sort(), ids.map((id) => `task_created:${id}:1`).sort(), 'each task delivered exactly once')
      t.ok(receiver.maxInFlight <= BOUND, `at most ${BOUND} deliveries in flight at the downstream (saw ${receiver.maxInFlight})`)
      if (downstream === 'slow') {
        t.ok(receiver.maxInFlight >= 2, `the consumer does work in parallel (saw ${receiver.maxInFlight})`)
      }
    })
  }
}

test('the producer p95 with a slow downstream stays within 1.25x of an instant one', (t) => {
  const instant = percentile(latencies.instant, 95)
  const slow = percentile(latencies.slow, 95)
  t.comment(`producer p95 over ${latencies.instant.length} requests each: instant ${instant.toFixed(0)} ms, slow ${slow.toFixed(0)} ms, ratio ${(slow / instant).toFixed(2)}`)
  t.ok(slow <= instant * 1.25, `slow p95 ${slow.toFixed(0)} ms <= 1.25 x instant p95 ${instant.toFixed(0)} ms`)
  t.end()
})

test('stop', async (t) => {
  await app.stop()
  await receiver.close()
  t.pass('stopped')
})
