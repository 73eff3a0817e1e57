import test from 'tape'
import { readOptions } from '../../bench/args.ts'
import type { Sample } from '../../bench/sampler.ts'
import { drainWindow } from '../../bench/stats.ts'
import { summarize, type RunResult } from '../../bench/summary.ts'

/**
 * A slow run sampled every second: 10 creates sent during t = 0..9 s, the queue
 * backlogged from t = 2 s to t = 20 s, deliveries at 1/s until the burst is over
 * (t = 10 s) and 1.2/s after it.
 */
function samples(): Sample[] {
  const list: Sample[] = []
  let delivered = 0
  for (let second = -2; second <= 24; second++) {
    if (second > 0) delivered += second <= 10 ? 1 : 1.2
    list.push({
      run: 'queue-slow-1',
      t: second * 1000,
      at: 1_000_000 + second * 1000,
      queueVisible: second >= 2 && second <= 20 ? 5 + (second === 8 ? 7 : 0) : 0,
      queueInFlight: 4,
      queueDelayed: 0,
      dlqVisible: 0,
      dlqInFlight: 0,
      downstreamInFlight: 4,
      downstreamPeak: 4,
      deliveriesTotal: delivered,
      deliveredTotal: delivered,
      deliveriesPerSecond: 1,
      requestsSent: Math.min(10, Math.max(0, second + 1)),
      requestsDone: Math.min(10, Math.max(0, second)),
    })
  }
  return list
}

test('the drain window runs from the first to the last sample with messages waiting', (t) => {
  const window = drainWindow(samples())
  t.equal(window?.from, 2000)
  t.equal(window?.to, 20_000)
  t.equal(window?.seconds, 18)
  t.ok(Math.abs((window?.deliveries ?? 0) - (8 * 1 + 10 * 1.2)) < 1e-9, 'deliveries between its ends')
  t.equal(window?.peakBacklog, 12)
  const after = drainWindow(samples(), true)
  t.equal(after?.from, 10_000, 'after the burst: from the sample where every request was answered')
  t.equal(after?.seconds, 10)
  t.equal(drainWindow(samples().map((sample) => ({ ...sample, queueVisible: sample.t === 5000 ? 3 : 0 }))), undefined, 'no window under a second')
  t.end()
})

test('drain efficiency is the backlogged delivery rate over the bound, split into during and after the burst', (t) => {
  const options = readOptions(['--batch-size', '2', '--max-concurrency', '2', '--latency-ms', '2500'])
  if (!options) throw new Error('bench options did not parse')
  const run: RunResult = { run: 'queue-slow-1', kind: 'queue-slow', downstreamLatencyMs: 2500, requests: [], samples: samples(), drained: true }
  const summary = summarize({ options, startedAt: new Date(0), loadAverageAtStart: [0, 0, 0], runs: [run], accounting: null, costs: null, profile: null })
  const drain = summary.drain
  // Ideal: 2 x 2 / 2.5 s = 1.6 deliveries/s.
  t.ok(Math.abs((drain?.idealPerSecond ?? 0) - 1.6) < 1e-9)
  t.ok(Math.abs((drain?.efficiency ?? 0) - 20 / 18 / 1.6) < 1e-9, `efficiency ${drain?.efficiency}`)
  t.ok(Math.abs((drain?.duringBurst?.efficiency ?? 0) - 1 / 1.6) < 1e-9, `during the burst ${drain?.duringBurst?.efficiency}`)
  t.ok(Math.abs((drain?.afterBurst?.efficiency ?? 0) - 1.2 / 1.6) < 1e-9, `after it ${drain?.afterBurst?.efficiency}`)
  const target = summary.targets.find((item) => item.name.startsWith('Drain efficiency'))
  t.equal(target?.met, false, '0.69 is under the 0.85 target')
  t.end()
})
