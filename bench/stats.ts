import { percentile } from '../scripts/lib/harness/index.ts'
import type { RequestRecord } from './load.ts'
import type { Sample } from './sampler.ts'

export { percentile }

export function median(values: number[]): number {
  const sorted = values.filter((value) => Number.isFinite(value)).sort((a, b) => a - b)
  if (sorted.length === 0) return NaN
  const middle = Math.floor(sorted.length / 2)
  return sorted.length % 2 ? (sorted[middle] as number) : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2
}

export interface LatencySummary {
  requests: number
  /** Answers that were not the expected 2xx (timeouts, 5xx, no answer). */
  failed: number
  p50: number
  p95: number
  p99: number
  max: number
}

/** Percentiles over every request the producer made, answered or not: a failure's wait counts. */
export function latencySummary(records: RequestRecord[]): LatencySummary {
  const latencies = records.map((record) => record.latencyMs)
  return {
    requests: records.length,
    failed: records.filter((record) => record.status < 200 || record.status >= 300).length,
    p50: percentile(latencies, 50),
    p95: percentile(latencies, 95),
    p99: percentile(latencies, 99),
    max: latencies.length ? Math.max(...latencies) : NaN,
  }
}

export const ratio = (numerator: number, denominator: number): number => (denominator > 0 && Number.isFinite(numerator) ? numerator / denominator : NaN)

export interface DrainWindow {
  run: string
  /** ms since the burst started. */
  from: number
  to: number
  seconds: number
  deliveries: number
  perSecond: number
  /** The most messages waiting at once. */
  peakBacklog: number
}

/**
 * The stretch of a run during which the queue was backlogged: from the first to
 * the last sample with messages waiting (visible), so every poller found a full
 * batch whenever it asked. Deliveries are the downstream's answered calls in it.
 */
export function drainWindow(samples: Sample[], onlyAfterBurst = false): DrainWindow | undefined {
  const sent = Math.max(0, ...samples.map((sample) => sample.requestsSent))
  const backlogged = samples.filter((sample) => sample.t >= 0 && (sample.queueVisible ?? 0) > 0 && (!onlyAfterBurst || sample.requestsDone >= sent))
  const first = backlogged[0]
  const last = backlogged.at(-1)
  if (!first || !last || last.at - first.at < 1000) return undefined
  const seconds = (last.at - first.at) / 1000
  const deliveries = last.deliveriesTotal - first.deliveriesTotal
  return {
    run: first.run,
    from: first.t,
    to: last.t,
    seconds,
    deliveries,
    perSecond: deliveries / seconds,
    peakBacklog: Math.max(...backlogged.map((sample) => sample.queueVisible ?? 0)),
  }
}

export const peakDownstream = (samples: Sample[]): number => samples.reduce((peak, sample) => Math.max(peak, sample.downstreamPeak, sample.downstreamInFlight), 0)
