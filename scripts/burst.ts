import { parseArgs } from 'node:util'
import { localSqsClient, queueDepth } from './lib/queues.ts'

// `npm run burst -- --count 200 --concurrency 8`: pushes a burst of creates at
// the running `npm start` and prints, every half second, how the queue absorbs
// it and drains at the consumer's steady rate.
const { values } = parseArgs({
  options: {
    count: { type: 'string', default: '200' },
    concurrency: { type: 'string', default: '8' },
    url: { type: 'string', default: `http://localhost:${process.env.PORT || 3333}` },
  },
})
const count = Number(values.count)
const concurrency = Number(values.concurrency)
const { sqs, queueUrl } = localSqsClient()
const latencies: number[] = []
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
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ title: `Burst task ${index + 1}` }),
    }).catch(() => undefined)
    latencies.push(performance.now() - started)
    if (response?.status === 201) accepted++
    else failed++
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
