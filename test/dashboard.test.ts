import { existsSync } from 'node:fs'
import { request as httpRequest } from 'node:http'
import test from 'tape'
import { consumerStatus, localConsumerTarget } from '../scripts/lib/consumer.ts'
import { type SandboxApp, sendRaw, sleep, startSandboxApp, stopAll, waitFor, WebhookReceiver } from '../scripts/lib/harness/index.ts'

/**
 * The local dashboard, used as a person would: a real headless Chromium opens
 * the page, sends a burst with the page's own control against a slow
 * downstream, and everything asserted is read from what the page shows (the
 * DOM), compared with what the system did: the backlog rises and drains, the
 * consumer never runs more than maxConcurrency invocations, the page counts
 * exactly the deliveries the downstream received, and a poison message shows
 * up in the DLQ panel, where a click replays it. The consumer box shows the
 * pause and each breaker, and its Pause and Resume switch the real mapping.
 *
 * Nothing here depends on how fast the machine is: the burst is sent while
 * the page's Pause holds the consumer, so the whole burst waits in the queue
 * however slowly the creates come, and Resume lets the consumer drain a real
 * backlog at its bound.
 */
const CHROMIUM = '/usr/bin/chromium'
const MAX_CONCURRENCY = 2
const BATCH_SIZE = 2
// Slow enough that each invocation stays in flight over several of the page's samples.
const SLOW_MS = 1000
const BURST = 8
const MAX_RECEIVE_COUNT = 2
// A lone message waits out the whole window in each receive: a poison message takes about 2 x 2 s to
// come back to the DLQ after a replay, long enough to see the DLQ empty in between.
const BATCH_WINDOW = 2

if (!existsSync(CHROMIUM)) {
  if (process.env.CI) {
    test('the dashboard test needs Chromium', (t) => {
      t.fail(`${CHROMIUM} is missing: .ci/run installs it (apt-get install -y chromium)`)
      t.end()
    })
  } else {
    console.log(`SKIP test/dashboard.test.ts: ${CHROMIUM} is missing (apt-get install -y chromium); with CI set this fails instead`)
  }
} else {
  await browserTests()
}

async function browserTests(): Promise<void> {
  const { chromium } = await import('playwright-core')
  const receiver = new WebhookReceiver()
  receiver.behaviour = { delayMs: SLOW_MS, status: () => 200 }
  let dashboardUrl = ''
  let app: SandboxApp
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  })
  const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } })
  const pageErrors: string[] = []
  page.on('pageerror', (error) => pageErrors.push(error.message))
  page.on('console', (message) => {
    if (message.type() === 'error') pageErrors.push(message.text())
  })

  /** What the page shows, read from its DOM. */
  const shown = async () =>
    page.evaluate(() => {
      const read = (id: string): string => (globalThis as unknown as { document: { getElementById(id: string): { textContent: string | null } | null } }).document.getElementById(id)?.textContent ?? ''
      return {
        connection: read('connection'),
        waiting: Number(read('queue-waiting')),
        queueInFlight: Number(read('queue-inflight')),
        consumerInFlight: Number(read('consumer-inflight')),
        maxConcurrency: Number(read('consumer-max')),
        delivered: Number(read('deliveries-total')),
        failed: Number(read('deliveries-failed')),
        batches: Number(read('consumer-batches')),
        dlq: Number(read('dlq-count')),
        burst: read('burst-status'),
        dlqResult: read('dlq-result'),
        dlqMessages: read('dlq-messages'),
      }
    })
  type Shown = Awaited<ReturnType<typeof shown>>
  const until = (what: string, check: (now: Shown) => boolean, timeoutMs = 30_000): Promise<Shown> =>
    waitFor(what, async () => {
      const now = await shown()
      return check(now) ? now : undefined
    }, timeoutMs, 100)

  test.onFinish(() => {
    void browser.close()
  })

  test('start the app, with a slow downstream, and open its dashboard in Chromium', async (t) => {
    const url = await receiver.listen()
    app = await startSandboxApp({
      name: 'dashboard',
      queue: { batchSize: BATCH_SIZE, batchWindow: BATCH_WINDOW, maxConcurrency: MAX_CONCURRENCY, maxReceiveCount: MAX_RECEIVE_COUNT, visibilityTimeout: 20 },
      consumerTimeout: 10,
      // A copy of a publish that timed out but arrived, held back while the first delivers, comes back after 1 s rather than a minute.
      env: { NOTIFY_WEBHOOK_URL: url, NOTIFY_WEBHOOK_TIMEOUT_MS: '5000', NOTIFY_WEBHOOK_SECRET: 'dashboard-test-signing-secret', RETRY_BASE_SECONDS: '1' },
    })
    dashboardUrl = `http://localhost:${app.ports.DASHBOARD_PORT}`
    await page.goto(dashboardUrl)
    const first = await until('the page to go live', (now) => now.connection === 'live', 15_000)
    t.equal(first.maxConcurrency, MAX_CONCURRENCY, 'it shows the consumer bound from app.arc')
    t.deepEqual([first.waiting, first.delivered, first.dlq], [0, 0, 0], 'an idle queue, nothing delivered, an empty DLQ')
    const canvases = await page.locator('.chart canvas').count()
    t.ok(canvases >= 4, `the charts are drawn (${canvases} canvases)`)
  })

  const box = () =>
      page.evaluate(() => {
        const document = (globalThis as unknown as { document: { getElementById(id: string): { textContent: string | null; querySelectorAll(selector: string): { textContent: string | null }[] } | null } }).document
        const rows = [...(document.getElementById('breakers')?.querySelectorAll('tr') ?? [])].map((row) => [...(row as unknown as { querySelectorAll(selector: string): { textContent: string | null }[] }).querySelectorAll('td')].map((cell) => cell.textContent))
        return { state: document.getElementById('consumer-state')?.textContent ?? '', result: document.getElementById('consumer-result')?.textContent ?? '', rows }
      })
  const boxUntil = (what: string, check: (now: Awaited<ReturnType<typeof box>>) => boolean) =>
    waitFor(what, async () => {
      const now = await box()
      return check(now) ? now : undefined
    }, 10_000, 100)

  test("the consumer box shows the pause and each breaker; Pause clicked on the page works the app's table and mapping", async (t) => {
    const idle = await boxUntil('the consumer box', (now) => now.rows.length === 3)
    t.equal(idle.state, 'consuming', 'the consumer is consuming')
    t.deepEqual(idle.rows, [['webhook', 'closed', '–', '0'], ['email', 'closed', '–', '0'], ['log', 'closed', '–', '0']], 'each breaker, closed, with no failures in a row')

    const operator = await localConsumerTarget()
    try {
      await page.click('#consumer-pause')
      const paused = await boxUntil('the page to say paused', (now) => now.state === 'paused by the operator' && now.result !== 'Pausing…')
      t.equal(paused.result, 'Paused: the consumer is paused by the operator.', 'the page says what npm run consumer -- pause says')
      const status = await consumerStatus(operator)
      t.equal(status.pausedBy, 'operator', "npm run consumer's status agrees: the operator's pause")
      t.ok(['Disabling', 'Disabled'].includes(status.mapping), `the mapping takes no new batch (${status.mapping}: an empty long poll may still be ending)`)
      t.match(status.operator?.by ?? '', / \(dashboard\)$/, 'paused from the dashboard')
    } finally {
      operator.close()
    }
  })

  test(`a burst of ${BURST} sent from the page while paused waits in the queue; Resume drains it, never more than ${MAX_CONCURRENCY} invocations at once, every delivery counted`, async (t) => {
    await page.fill('#burst-count', String(BURST))
    await page.click('#burst-send')
    // At least BURST: a publish that timed out on a busy machine but reached the queue is sent again, and that copy waits too.
    const held = await until('the whole burst waiting in the queue', (now) => now.burst.startsWith(`Sent ${BURST}/${BURST}`) && now.waiting >= BURST, 120_000)
    t.match(held.burst, new RegExp(`^Sent ${BURST}/${BURST}: ${BURST} accepted, 0 failed`), `the page says every create was accepted (${held.burst})`)
    t.deepEqual([held.waiting >= BURST, held.delivered, receiver.calls.length], [true, 0, 0], `the backlog rose: ${held.waiting} messages waiting on the page (${BURST} creates), nothing delivered while paused`)

    const operator = await localConsumerTarget()
    try {
      await page.click('#consumer-resume')
      const resumed = await boxUntil('the page to say consuming', (now) => now.state === 'consuming' && now.result !== 'Resuming…')
      t.equal(resumed.result, 'Resumed: the consumer is consuming.', 'the page says what npm run consumer -- resume says')
      t.equal((await consumerStatus(operator)).mapping, 'Enabled', 'the mapping is Enabled again')
    } finally {
      operator.close()
    }
    let maxWaiting = held.waiting
    let maxConsumerInFlight = 0
    const samples: Shown[] = [held]
    const deadline = Date.now() + 60_000
    // Sampled from the page five times a second until the queue is empty and the page counts every delivery.
    for (;;) {
      const now = await shown()
      samples.push(now)
      maxWaiting = Math.max(maxWaiting, now.waiting)
      maxConsumerInFlight = Math.max(maxConsumerInFlight, now.consumerInFlight)
      if (now.burst.startsWith(`Sent ${BURST}/${BURST}`) && now.waiting + now.queueInFlight === 0 && now.delivered >= BURST) break
      if (Date.now() > deadline) break
      await sleep(200)
    }
    const last = samples.at(-1)
    t.ok(maxWaiting >= BURST, `the backlog on the page: up to ${maxWaiting} messages waiting`)
    t.deepEqual([last?.waiting, last?.queueInFlight], [0, 0], 'and it went back to 0 waiting, 0 in flight')
    t.ok(maxConsumerInFlight <= MAX_CONCURRENCY, `invocations in flight never above maxConcurrency (at most ${maxConsumerInFlight} of ${MAX_CONCURRENCY} in ${samples.length} samples)`)
    t.equal(maxConsumerInFlight, MAX_CONCURRENCY, 'and the consumer did use its whole bound')
    t.ok(receiver.maxInFlight <= MAX_CONCURRENCY * BATCH_SIZE, `the downstream never had more than ${MAX_CONCURRENCY * BATCH_SIZE} calls at once (${receiver.maxInFlight})`)
    // The page gets a new state twice a second: give it one more to catch up with the last batch.
    const settled = await until('the page to count every delivery', (now) => now.delivered === receiver.deliveredIds().length, 5_000).catch(() => undefined)
    const delivered = receiver.deliveredIds().length
    t.equal(settled?.delivered ?? (await shown()).delivered, delivered, `the page counts the deliveries the downstream received (${delivered})`)
    t.equal(delivered, BURST, 'one per create')
    t.equal((await shown()).failed, 0, 'no delivery failed')
  })

  test('a poison message appears in the DLQ panel; cross-origin writes are refused and change nothing', async (t) => {
    const batchesBefore = (await shown()).batches
    await sendRaw(app.sqs, app.queueUrl, [{ event: 'task_exploded', body: JSON.stringify({ task: { id: 'poison' } }) }])
    const arrived = await until('the poison message in the DLQ panel', (now) => now.dlq === 1, 40_000)
    t.equal(arrived.dlq, 1, 'the DLQ panel shows 1 message')
    t.ok(arrived.batches >= batchesBefore + MAX_RECEIVE_COUNT, `after ${MAX_RECEIVE_COUNT} failed receives (batches ${batchesBefore} -> ${arrived.batches})`)
    await page.click('#dlq-peek')
    const peeked = await until('the peeked message', (now) => now.dlqMessages.includes('task_exploded'))
    t.match(peeked.dlqMessages, /event task_exploded {2}receive count \d/, 'a peek lists it with its event and receive count')
    t.match(peeked.dlqResult, /1 message shown; every one is back in notifications-dlq/, 'and says it is still there')

    // A page of another origin (the app's own API) posts to the dashboard as a cross-site form would.
    const other = await browser.newPage()
    await other.goto(`${app.baseUrl}/nowhere`)
    const status = await other.evaluate(
      async (url) => {
        const response = await fetch(`${url}/api/dlq/purge`, { method: 'POST', mode: 'no-cors', headers: { 'content-type': 'text/plain' }, body: '{"count":1}' })
        return response.type
      },
      dashboardUrl,
    )
    await other.close()
    t.equal(status, 'opaque', 'the other page cannot even read the answer')
    const direct = async (path: string, headers: Record<string, string>, body = '{"count":1}') => {
      const response = await fetch(`${dashboardUrl}${path}`, { method: 'POST', headers, body })
      return { status: response.status, body: (await response.json()) as { message?: string } }
    }
    const foreign = await direct('/api/dlq/purge', { origin: 'http://evil.example', 'content-type': 'application/json' })
    t.equal(foreign.status, 403, 'a purge with a foreign Origin is refused')
    t.match(foreign.body.message ?? '', /Cross-origin request refused/)
    t.equal((await direct('/api/burst', { origin: 'http://evil.example', 'content-type': 'application/json' }, '{"count":5}')).status, 403, 'so is a burst')
    t.equal((await direct('/api/dlq/purge', { 'content-type': 'application/json' })).status, 403, 'and a write with no Origin at all')
    t.equal((await direct('/api/dlq/purge', { origin: dashboardUrl, 'content-type': 'text/plain' })).status, 415, 'a same-origin write needs a JSON body')
    const rebound = await new Promise<number>((resolve, reject) => {
      const request = httpRequest({ host: '127.0.0.1', port: app.ports.DASHBOARD_PORT, path: '/api/state', headers: { host: `attacker.example:${app.ports.DASHBOARD_PORT}` } }, (response) => {
        response.resume()
        resolve(response.statusCode ?? 0)
      })
      request.on('error', reject)
      request.end()
    })
    t.equal(rebound, 403, 'a read through a rebound DNS name (foreign Host) is refused')
    await sleep(1200)
    const after = await shown()
    t.equal(after.dlq, 1, 'the DLQ still holds its message')
    t.match(after.burst, new RegExp(`^Sent ${BURST}/${BURST}`), 'and no burst was sent')
  })

  test('Replay clicked on the page empties the DLQ; the poison message, replayed, fails again and comes back', async (t) => {
    await page.click('#dlq-replay')
    const replayed = await until('the replay to end', (now) => /^Moved/.test(now.dlqResult), 20_000)
    t.match(replayed.dlqResult, /^Moved 1 message from notifications-dlq to notifications\.$/, 'the page says what npm run dlq -- replay says')
    const emptied = await until('the DLQ panel to show 0', (now) => now.dlq === 0, 3_000)
    t.equal(emptied.dlq, 0, 'the DLQ panel shows 0')
    t.equal(emptied.dlqMessages, '', 'the peeked list is cleared')
    const back = await until('the message back in the queue', (now) => now.waiting + now.queueInFlight === 1, 5_000)
    t.equal(back.waiting + back.queueInFlight, 1, 'the message is back in the queue, being retried')
    const again = await until('the poison message back in the DLQ', (now) => now.dlq === 1, 40_000)
    t.equal(again.dlq, 1, `it fails its ${MAX_RECEIVE_COUNT} receives again and the DLQ panel shows it again`)
    t.deepEqual(pageErrors, [], 'the page logged no errors')
  })

  test('stop', async (t) => {
    await stopAll(browser, app, receiver)
    t.pass('stopped')
  })
}
