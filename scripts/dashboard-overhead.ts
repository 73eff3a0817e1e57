import { existsSync } from 'node:fs'
import { parseArgs } from 'node:util'
import { percentile, queueDepth, sleep, startSandboxApp, stopAll, WebhookReceiver } from './lib/harness/index.ts'

/**
 * `node scripts/dashboard-overhead.ts [--rounds 8] [--count 60] [--concurrency 8] [--client browser|sse]`:
 * what an open dashboard costs the producer. Starts the app (a copy under
 * .tmp/test-apps, free ports), then sends bursts of creates, each
 * round either with no dashboard page open or with one open (headless
 * Chromium, or an SSE client reading the stream as the page does), in the
 * order none, page, page, none, ... so that a drift of the machine over the
 * run weighs on both alike. Prints the producer's median latency per round
 * and per mode, and the overhead of the open page.
 */
const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '8' },
    count: { type: 'string', default: '60' },
    concurrency: { type: 'string', default: '8' },
    client: { type: 'string', default: 'browser' },
  },
})
const rounds = Number(values.rounds)
const count = Number(values.count)
const concurrency = Number(values.concurrency)
const client = values.client
if (![rounds, count, concurrency].every((value) => Number.isInteger(value) && value > 0) || (client !== 'browser' && client !== 'sse')) {
  console.error('usage: node scripts/dashboard-overhead.ts [--rounds N] [--count N] [--concurrency N] [--client browser|sse]')
  process.exit(2)
}
if (client === 'browser' && !existsSync('/usr/bin/chromium')) {
  console.error('/usr/bin/chromium is missing (apt-get install -y chromium), or use --client sse')
  process.exit(1)
}

const say = (line: string): boolean => process.stdout.write(`${line}\n`)
// The Lambdas' own log lines would bury the figures.
const write = process.stdout.write.bind(process.stdout)
process.stdout.write = ((chunk: string | Uint8Array, ...rest: never[]) =>
  String(chunk).trimStart().startsWith('{"level"') ? true : write(chunk, ...rest)) as typeof process.stdout.write

const median = (items: number[]): number => {
  const sorted = [...items].sort((a, b) => a - b)
  const middle = Math.floor(sorted.length / 2)
  return sorted.length % 2 ? (sorted[middle] ?? 0) : ((sorted[middle - 1] ?? 0) + (sorted[middle] ?? 0)) / 2
}

const receiver = new WebhookReceiver()
const app = await startSandboxApp({ name: 'dashboard-overhead', env: { NOTIFY_WEBHOOK_URL: await receiver.listen(), NOTIFY_WEBHOOK_SECRET: 'overhead-signing-secret' } })
const dashboardUrl = `http://localhost:${app.ports.DASHBOARD_PORT}`
const chromium = client === 'browser' ? (await import('playwright-core')).chromium : undefined
const browser = await chromium?.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
})

/** An open dashboard: a page in Chromium, or a client of the event stream that parses every frame as the page does. */
async function openDashboard(): Promise<() => Promise<void>> {
  if (browser) {
    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } })
    await page.goto(dashboardUrl)
    await page.waitForFunction(() => (globalThis as unknown as { document: { getElementById(id: string): { textContent: string | null } | null } }).document.getElementById('connection')?.textContent === 'live')
    return () => page.close()
  }
  const abort = new AbortController()
  const response = await fetch(`${dashboardUrl}/api/events`, { signal: abort.signal })
  const reading = (async () => {
    const decoder = new TextDecoder()
    let buffer = ''
    for await (const chunk of response.body as AsyncIterable<Uint8Array>) {
      buffer += decoder.decode(chunk, { stream: true })
      for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
        const frame = buffer.slice(0, end)
        buffer = buffer.slice(end + 2)
        for (const line of frame.split('\n')) if (line.startsWith('data: ')) JSON.parse(line.slice(6))
      }
    }
  })().catch(() => undefined)
  return async () => {
    abort.abort()
    await reading
  }
}

async function burst(label: string): Promise<number[]> {
  const latencies: number[] = []
  let next = 0
  const sender = async (): Promise<void> => {
    while (next < count) {
      const index = next++
      const started = performance.now()
      const response = await fetch(`${app.sandboxUrl}/tasks`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${app.token}` },
        body: JSON.stringify({ title: `${label} ${index}` }),
      })
      await response.arrayBuffer()
      if (response.status !== 201) throw new Error(`create answered ${response.status}`)
      latencies.push(performance.now() - started)
    }
  }
  await Promise.all(Array.from({ length: concurrency }, sender))
  return latencies
}

async function drained(): Promise<void> {
  for (;;) {
    const depth = await queueDepth(app.sqs, app.queueUrl)
    if (depth.visible + depth.inFlight === 0) return
    await sleep(500)
  }
}

try {
  say(`dashboard overhead: ${rounds} rounds of ${count} creates, ${concurrency} at a time, dashboard client: ${client === 'browser' ? 'a page in headless Chromium' : 'an SSE client'}`)
  await burst('warm-up')
  await drained()
  const results: Record<'none' | 'page', number[][]> = { none: [], page: [] }
  for (let round = 0; round < rounds; round++) {
    // none, page, page, none, none, page, ...: each mode as often first as second.
    const mode = (Math.floor((round + 1) / 2) % 2 === 0 ? 'none' : 'page') as 'none' | 'page'
    const close = mode === 'page' ? await openDashboard() : undefined
    // The page's first draw is behind it: measure the steady state.
    await sleep(1000)
    const latencies = await burst(`round ${round + 1}`)
    await close?.()
    results[mode].push(latencies)
    say(`round ${String(round + 1).padStart(2)}  ${mode === 'page' ? 'page open' : 'no page  '}  median ${median(latencies).toFixed(0).padStart(5)} ms  p95 ${percentile(latencies, 95).toFixed(0).padStart(5)} ms`)
    await drained()
    await sleep(1000)
  }
  const all = (mode: 'none' | 'page'): number[] => results[mode].flat()
  const roundMedians = (mode: 'none' | 'page'): number => median(results[mode].map(median))
  const without = median(all('none'))
  const withPage = median(all('page'))
  say(`no page:   median ${without.toFixed(0)} ms over ${all('none').length} creates (median of round medians ${roundMedians('none').toFixed(0)} ms)`)
  say(`page open: median ${withPage.toFixed(0)} ms over ${all('page').length} creates (median of round medians ${roundMedians('page').toFixed(0)} ms)`)
  // Each block of four rounds (none, page, page, none or page, none, none, page) compares rounds run close together, so drift cancels out.
  const blocks = Array.from({ length: Math.floor(rounds / 4) }, (_, block) => {
    const sum = (mode: 'none' | 'page'): number => results[mode].slice(block * 2, block * 2 + 2).map(median).reduce((total, value) => total + value, 0)
    return sum('page') / sum('none')
  })
  say(`overhead of an open dashboard: ${(((withPage - without) / without) * 100).toFixed(1)}% (median of all creates), ${(((roundMedians('page') - roundMedians('none')) / roundMedians('none')) * 100).toFixed(1)}% (median of round medians)` +
    (blocks.length ? `, ${((median(blocks) - 1) * 100).toFixed(1)}% (median over ${blocks.length} blocks of 4 neighbouring rounds: ${blocks.map((ratio) => `${((ratio - 1) * 100).toFixed(1)}%`).join(', ')})` : '') + '; limit 5%')
} finally {
  await stopAll(browser, app, receiver)
}
