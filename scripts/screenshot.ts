import { existsSync } from 'node:fs'
import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { ROOT, sendRaw, startSandboxApp, stopAll, WebhookReceiver } from './lib/harness/index.ts'

/**
 * `npm run screenshot`: starts the app (a copy under .tmp/test-apps, on free
 * ports, so a running `npm start` is left alone), opens its dashboard in
 * headless Chromium, sends a small burst from the page against a slow local
 * downstream plus one poison message, and once the queue has drained writes
 * docs/dashboard.png, the README's picture.
 */
const CHROMIUM = '/usr/bin/chromium'
const OUT = join(ROOT, 'docs', 'dashboard.png')
const BURST = 40

if (!existsSync(CHROMIUM)) {
  console.error(`${CHROMIUM} is missing: apt-get install -y chromium`)
  process.exit(1)
}
const { chromium } = await import('playwright-core')
const say = (line: string): boolean => process.stdout.write(`screenshot: ${line}\n`)

// The consumer's own log lines would bury this script's few: keep them out of its output.
const write = process.stdout.write.bind(process.stdout)
process.stdout.write = ((chunk: string | Uint8Array, ...rest: never[]) =>
  String(chunk).trimStart().startsWith('{"level"') ? true : write(chunk, ...rest)) as typeof process.stdout.write

const receiver = new WebhookReceiver()
receiver.behaviour = { delayMs: 1500, status: () => 200 }
const url = await receiver.listen()
say('starting the app (a copy under .tmp/test-apps)')
const app = await startSandboxApp({
  name: 'screenshot',
  queue: { batchSize: 2, batchWindow: 1, maxConcurrency: 2, maxReceiveCount: 3, visibilityTimeout: 20 },
  consumerTimeout: 10,
  // Two channels, so the chart shows deliveries by channel; INFO, so the page lists the latest deliveries.
  env: { NOTIFY_WEBHOOK_URL: url, NOTIFY_WEBHOOK_TIMEOUT_MS: '5000', NOTIFY_WEBHOOK_SECRET: 'screenshot-signing-secret', NOTIFY_LOG: 'true', POWERTOOLS_LOG_LEVEL: 'INFO' },
})
const browser = await chromium.launch({
  executablePath: CHROMIUM,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
})
try {
  const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } })
  const read = (id: string): Promise<string> => page.evaluate((element) => (globalThis as unknown as { document: { getElementById(id: string): { textContent: string | null } | null } }).document.getElementById(element)?.textContent ?? '', id)
  await page.goto(`http://localhost:${app.ports.DASHBOARD_PORT}/`)
  await page.waitForFunction(() => (globalThis as unknown as { document: { getElementById(id: string): { textContent: string | null } | null } }).document.getElementById('connection')?.textContent === 'live')
  say(`a burst of ${BURST} creates from the page, and one poison message`)
  await page.fill('#burst-count', String(BURST))
  await page.click('#burst-send')
  await sendRaw(app.sqs, app.queueUrl, [{ event: 'task_exploded', body: JSON.stringify({ task: { id: 'poison' } }) }])
  const deadline = Date.now() + 180_000
  for (;;) {
    const [burst, waiting, inFlight, dlq] = await Promise.all([read('burst-status'), read('queue-waiting'), read('queue-inflight'), read('dlq-count')])
    if (burst.startsWith(`Sent ${BURST}/${BURST}`) && waiting === '0' && inFlight === '0' && dlq === '1') break
    if (Date.now() > deadline) throw new Error(`the queue did not drain in time (burst: ${burst}, waiting ${waiting}, in flight ${inFlight}, DLQ ${dlq})`)
    await new Promise((resolve) => setTimeout(resolve, 500))
  }
  await page.click('#dlq-peek')
  await page.waitForSelector('#dlq-messages li')
  // A few more seconds of an idle queue on the charts, after the drain.
  await new Promise((resolve) => setTimeout(resolve, 4000))
  await mkdir(join(ROOT, 'docs'), { recursive: true })
  await page.screenshot({ path: OUT, fullPage: true })
  say(`wrote ${OUT}`)
} finally {
  await stopAll(browser, app, receiver)
}
