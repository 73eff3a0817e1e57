import { cpus, loadavg } from 'node:os'
import type { Accounting } from './accounting.ts'
import type { BenchOptions } from './args.ts'
import type { RouteCost } from './cost.ts'
import type { RequestRecord } from './load.ts'
import type { ProfileFindings } from './profile.ts'
import type { Sample } from './sampler.ts'
import { drainWindow, latencySummary, peakDownstream, ratio, type DrainWindow, type LatencySummary } from './stats.ts'

/** One burst (or its replay) and what was seen meanwhile. */
export interface RunResult {
  run: string
  kind: 'queue-slow' | 'queue-instant' | 'baseline'
  downstreamLatencyMs: number
  requests: RequestRecord[]
  samples: Sample[]
  /** Whether the queue emptied before --max-drain-seconds. */
  drained: boolean
}

export interface Percentiles {
  p50: number
  p95: number
  p99: number
}

export interface Target {
  name: string
  detail: string
  /** null: not measured in this run. */
  met: boolean | null
}

export interface Summary {
  startedAt: string
  seconds: number
  machine: { cpus: number; loadAverageAtStart: number[]; loadAverageAtEnd: number[]; node: string }
  settings: Pick<
    BenchOptions,
    'count' | 'concurrency' | 'quietSeconds' | 'latencyMs' | 'failRate' | 'batchSize' | 'maxConcurrency' | 'batchWindow' | 'rounds' | 'intervalMs'
  > & { bound: number; idealPerSecond: number }
  producer: { queueSlow: LatencySummary | null; queueInstant: LatencySummary | null; baseline: LatencySummary | null }
  ratios: { slowVsInstant: Percentiles | null; queueVsBaseline: Percentiles | null }
  downstream: {
    bound: number
    queueSlowPeak: number | null
    queueInstantPeak: number | null
    baselinePeak: number | null
    queueVsBaseline: number | null
    queueVsBound: number | null
  }
  drain: {
    windows: DrainWindow[]
    perSecond: number
    idealPerSecond: number
    efficiency: number
    peakBacklog: number
    /** The same once the burst was over (the producer's processes no longer compete for the CPU). */
    afterBurst: { seconds: number; perSecond: number; efficiency: number } | null
    /** The rest of the backlogged time: while the producer was still sending and shared the CPU. */
    duringBurst: { seconds: number; perSecond: number; efficiency: number } | null
  } | null
  accounting: Accounting | null
  sandboxCost: { routes: { label: string; medianMs: number; requests: number; failed: number }[]; postTasksVsNoop: number; catchAllVsNoop: number } | null
  profile: ProfileFindings | null
  targets: Target[]
}

const percentileRatios = (a: LatencySummary | null, b: LatencySummary | null): Percentiles | null =>
  a && b ? { p50: ratio(a.p50, b.p50), p95: ratio(a.p95, b.p95), p99: ratio(a.p99, b.p99) } : null

const pooled = (runs: RunResult[], kind: RunResult['kind']): RequestRecord[] => runs.filter((run) => run.kind === kind).flatMap((run) => run.requests)

function peakOf(runs: RunResult[], kind: RunResult['kind']): number | null {
  const matching = runs.filter((run) => run.kind === kind)
  return matching.length ? Math.max(...matching.map((run) => peakDownstream(run.samples))) : null
}

export interface SummaryInput {
  options: BenchOptions
  startedAt: Date
  loadAverageAtStart: number[]
  runs: RunResult[]
  accounting: Accounting | null
  costs: RouteCost[] | null
  profile: ProfileFindings | null
}

export const SANDBOX_COST_AIM = 1.5
export const P95_TARGET = 1.25
export const DRAIN_TARGET = 0.85

export function summarize(input: SummaryInput): Summary {
  const { options, runs } = input
  const bound = options.maxConcurrency * options.batchSize
  const idealPerSecond = options.latencyMs > 0 ? bound / (options.latencyMs / 1000) : Infinity

  const slow = pooled(runs, 'queue-slow')
  const instant = pooled(runs, 'queue-instant')
  const base = pooled(runs, 'baseline')
  const producer = {
    queueSlow: slow.length ? latencySummary(slow) : null,
    queueInstant: instant.length ? latencySummary(instant) : null,
    baseline: base.length ? latencySummary(base) : null,
  }

  const queueSlowPeak = peakOf(runs, 'queue-slow')
  const queueInstantPeak = peakOf(runs, 'queue-instant')
  const baselinePeak = peakOf(runs, 'baseline')
  const queuePeak = queueSlowPeak === null && queueInstantPeak === null ? null : Math.max(queueSlowPeak ?? 0, queueInstantPeak ?? 0)

  const slowRuns = runs.filter((run) => run.kind === 'queue-slow')
  const windows = slowRuns.flatMap((run) => drainWindow(run.samples) ?? [])
  const windowSeconds = windows.reduce((sum, window) => sum + window.seconds, 0)
  const windowDeliveries = windows.reduce((sum, window) => sum + window.deliveries, 0)
  const drainPerSecond = windowDeliveries / windowSeconds
  const after = slowRuns.flatMap((run) => drainWindow(run.samples, true) ?? [])
  const afterSeconds = after.reduce((sum, window) => sum + window.seconds, 0)
  const afterDeliveries = after.reduce((sum, window) => sum + window.deliveries, 0)
  const afterPerSecond = afterDeliveries / afterSeconds
  const duringSeconds = windowSeconds - afterSeconds
  const duringPerSecond = (windowDeliveries - afterDeliveries) / duringSeconds
  const drain = windows.length
    ? {
        windows,
        perSecond: drainPerSecond,
        idealPerSecond,
        efficiency: ratio(drainPerSecond, idealPerSecond),
        peakBacklog: Math.max(...windows.map((window) => window.peakBacklog)),
        afterBurst: after.length ? { seconds: afterSeconds, perSecond: afterPerSecond, efficiency: ratio(afterPerSecond, idealPerSecond) } : null,
        duringBurst: after.length && duringSeconds >= 1 ? { seconds: duringSeconds, perSecond: duringPerSecond, efficiency: ratio(duringPerSecond, idealPerSecond) } : null,
      }
    : null

  const routeMedian = (label: string): number => input.costs?.find((cost) => cost.label === label)?.medianMs ?? NaN
  const sandboxCost = input.costs
    ? {
        routes: input.costs.map((cost) => ({ label: cost.label, medianMs: cost.medianMs, requests: cost.samples.length, failed: cost.failed })),
        postTasksVsNoop: ratio(routeMedian('POST /tasks'), routeMedian('GET /noop (fixture)')),
        catchAllVsNoop: ratio(routeMedian('GET /unknown (product 404)'), routeMedian('GET /noop (fixture)')),
      }
    : null

  const slowVsInstant = percentileRatios(producer.queueSlow, producer.queueInstant)
  const targets: Target[] = []
  targets.push({
    name: `Producer p95 with the slow downstream within ${P95_TARGET}x of the instant one`,
    detail: slowVsInstant ? `${slowVsInstant.p95.toFixed(2)}x (${fmtMs(producer.queueSlow?.p95)} vs ${fmtMs(producer.queueInstant?.p95)})` : 'not measured',
    met: slowVsInstant ? slowVsInstant.p95 <= P95_TARGET : null,
  })
  targets.push({
    name: `Downstream concurrency never above maxConcurrency x batchSize (${bound})`,
    detail: queuePeak === null ? 'not measured' : `peak ${queuePeak}`,
    met: queuePeak === null ? null : queuePeak <= bound,
  })
  targets.push({
    name: `Drain efficiency at least ${DRAIN_TARGET}`,
    detail: drain ? `${drain.efficiency.toFixed(2)} (${drain.perSecond.toFixed(2)}/s of an ideal ${idealPerSecond.toFixed(2)}/s over ${windowSeconds.toFixed(0)} s backlogged)` : 'no backlog formed: not measured',
    met: drain ? drain.efficiency >= DRAIN_TARGET : null,
  })
  const accounting = input.accounting
  targets.push({
    name: 'Every task delivered once or in the DLQ',
    detail: accounting
      ? `${accounting.deliveredOnce} once, ${accounting.inDlq} in the DLQ, ${accounting.duplicated} twice or more` +
        (accounting.duplicated
          ? ` (${accounting.duplicatedAfterTimeout} of them after the consumer's webhook call timed out on an answer the downstream gave: the at-least-once edge X-Notification-Id covers)`
          : '') +
        `, ${accounting.stillQueued} still queued, ${accounting.missing} missing, of ${accounting.accepted}`
      : 'not measured',
    met: accounting ? accounting.duplicated === 0 && accounting.missing === 0 && accounting.stillQueued === 0 && accounting.deliveredOnce + accounting.inDlq === accounting.accepted : null,
  })
  targets.push({
    name: `Sandbox cost: median POST /tasks within ${SANDBOX_COST_AIM}x of a do-nothing route (aim)`,
    detail: sandboxCost ? `${sandboxCost.postTasksVsNoop.toFixed(2)}x (${fmtMs(routeMedian('POST /tasks'))} vs ${fmtMs(routeMedian('GET /noop (fixture)'))})` : 'not measured',
    met: sandboxCost ? sandboxCost.postTasksVsNoop <= SANDBOX_COST_AIM : null,
  })

  return {
    startedAt: input.startedAt.toISOString(),
    seconds: Math.round((Date.now() - input.startedAt.getTime()) / 1000),
    machine: { cpus: cpus().length, loadAverageAtStart: input.loadAverageAtStart, loadAverageAtEnd: loadavg(), node: process.version },
    settings: {
      count: options.count,
      concurrency: options.concurrency,
      quietSeconds: options.quietSeconds,
      latencyMs: options.latencyMs,
      failRate: options.failRate,
      batchSize: options.batchSize,
      maxConcurrency: options.maxConcurrency,
      batchWindow: options.batchWindow,
      rounds: options.rounds,
      intervalMs: options.intervalMs,
      bound,
      idealPerSecond,
    },
    producer,
    ratios: { slowVsInstant, queueVsBaseline: percentileRatios(producer.queueSlow, producer.baseline) },
    downstream: {
      bound,
      queueSlowPeak,
      queueInstantPeak,
      baselinePeak,
      queueVsBaseline: queuePeak !== null && baselinePeak !== null ? ratio(queueSlowPeak ?? queuePeak, baselinePeak) : null,
      queueVsBound: queuePeak !== null ? ratio(queuePeak, bound) : null,
    },
    drain,
    accounting,
    sandboxCost,
    profile: input.profile,
    targets,
  }
}

export function fmtMs(value: number | null | undefined): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return 'n/a'
  return value >= 10_000 ? `${(value / 1000).toFixed(1)} s` : `${Math.round(value)} ms`
}
