import { dirname, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { localIssuerDir, localIssuerPort, localIssuerUrl, mintToken } from '../src/plugins/queue-leveling/local-issuer.ts'
import { localSqsClient, queueDepth } from './lib/queues.ts'

// `npm run burst -- --count 200 --concurrency 8`: pushes a burst of creates at
// the running `npm start` and prints, every half second, how the queue absorbs
// it and drains at the consumer's steady rate. The creates carry a token of the
// local issuer `npm start` runs (or `--token <jwt>` from the issuer it trusts).
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const USAGE = 'npm run burst -- [--count 200] [--concurrency 8] [--url http://localhost:3333] [--token <jwt>] [--sub local-user]'

const { values } = parseArgs({
  options: {
    count: { type: 'string', default: '200' },
    concurrency: { type: 'string', default: '8' },
    url: { type: 'string', default: `http://localhost:${process.env.PORT || 3333}` },
    token: { type: 'string' },
    // The subject `npm run token` uses by default, so the README's curl examples list the burst's tasks.
    sub: { type: 'string', default: 'local-user' },
    help: { type: 'boolean', default: false },
  },
})
if (values.help) {
  console.log(USAGE)
  process.exit(0)
}
const count = Number(values.count)
const concurrency = Number(values.concurrency)
if (!Number.isInteger(count) || count < 1 || !Number.isInteger(concurrency) || concurrency < 1) {
  console.error(`--count and --concurrency must be whole numbers of at least 1\n${USAGE}`)
  process.exit(2)
}
if (values.token === undefined && process.env.AUTH_ISSUER?.trim()) {
  // The app trusts that issuer only; a token of the local one would be refused, every request a 401.
  console.error(`AUTH_ISSUER is set (${process.env.AUTH_ISSUER.trim()}): burst cannot mint a token of that issuer. Pass one: npm run burst -- --token <jwt>`)
  process.exit(2)
}

/**
 * The bearer token of each request: the one given, or one of the local issuer
 * (its key pair under .tmp/local-issuer/, its port LOCAL_ISSUER_PORT, as
 * `npm start` runs it), minted again before it expires so that a long burst
 * never turns into 401s halfway.
 */
const TOKEN_TTL_SECONDS = 3600
let minted: { token: string; renewAt: number } | undefined
async function bearer(): Promise<string> {
  if (values.token !== undefined) return values.token
  if (!minted || Date.now() >= minted.renewAt) {
    const token = await mintToken({ dir: localIssuerDir(ROOT), issuer: localIssuerUrl(localIssuerPort()), sub: values.sub, ttlSeconds: TOKEN_TTL_SECONDS })
    minted = { token, renewAt: Date.now() + (TOKEN_TTL_SECONDS - 300) * 1000 }
  }
  return minted.token
}
await bearer()

const { sqs, queueUrl } = localSqsClient()
const latencies: number[] = []
const refusals = new Map<number, number>()
let accepted = 0
let failed = 0
let next = 0

const p95 = (): number => [...latencies].sort((a, b) => a - b)[Math.max(0, Math.ceil(latencies.length * 0.95) - 1)] ?? 0

async function send(): Promise<void> {
  while (next < count) {
    const index = next++
    const started = performance.now()
    const response = await fetch(`${values.url}/tasks`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${await bearer()}` },
      body: JSON.stringify({ title: `Burst task ${index + 1}` }),
    }).catch(() => undefined)
    latencies.push(performance.now() - started)
    if (response?.status === 201) accepted++
    else failed++
    if (response?.status === 401 || response?.status === 403) refusals.set(response.status, (refusals.get(response.status) ?? 0) + 1)
    await response?.arrayBuffer()
  }
}

const started = Date.now()
const sending = Promise.all(Array.from({ length: concurrency }, send))
for (;;) {
  await new Promise((resolve) => setTimeout(resolve, 500))
  const [queue, dlq] = await Promise.all([queueDepth(sqs, queueUrl('notifications')), queueDepth(sqs, queueUrl('notifications-dlq'))])
  const seconds = ((Date.now() - started) / 1000).toFixed(1).padStart(5)
  console.log(
    `${seconds}s  sent ${String(accepted + failed).padStart(4)}/${count} (p95 ${p95().toFixed(0)} ms, ${failed} failed)  ` +
      `queue: ${String(queue.visible).padStart(4)} waiting, ${String(queue.inFlight).padStart(3)} in flight  DLQ: ${dlq.visible}`,
  )
  if (accepted + failed === count && queue.visible + queue.inFlight === 0) break
}
await sending
sqs.destroy()
if (refusals.size) {
  // The usual cause: the app trusts another issuer (AUTH_ISSUER in .env, say), or another npm start's key pair.
  const counts = [...refusals].map(([status, n]) => `${n}x ${status}`).join(', ')
  console.error(`The app refused the token (${counts}). ${values.token === undefined ? 'Does it trust another issuer (AUTH_ISSUER in .env)? Then pass --token <jwt> of that issuer.' : 'Is --token from the issuer it trusts, with the tasks:write scope?'}`)
  process.exitCode = 1
}
