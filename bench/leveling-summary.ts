import { mostInWindow, type WebhookCall } from '../scripts/lib/harness/index.ts'
import type { Accounting } from './accounting.ts'
import type { Sample } from './sampler.ts'
import type { Target } from './summary.ts'

/**
 * The figures of the adaptive-leveling phases (`--phases outage,rate`), from
 * what a run recorded: pure, so that a test can feed it known runs. See
 * bench/leveling.ts for how the runs are made.
 */

/** The consumer's state as the app's dashboard (GET /api/state) reported it at a moment. */
export interface ConsumerReading {
  at: number
  /** Consumer invocations finished so far. */
  batches: number
  /** ...and under way. */
  inFlight: number
}

/** One run of the outage: the same burst, the downstream answering 503 from `downAt` to `upAt`. */
export interface OutageRun {
  variant: 'breaker' | 'no-breaker'
  /** BREAKER_FAILURES of the app (0: the breaker off). */
  breakerFailures: number
  downAt: number
  upAt: number
  /** The first moment at or after `upAt` the queue held nothing (waiting, in flight or delayed); null: not within the wait. */
  emptyAt: number | null
  atDown: ConsumerReading
  atUp: ConsumerReading
  /** The breaker's openings (its "Breaker opened" log lines): each is one open period, ended by one probe. */
  openings: number
  /** Every downstream call of this run. */
  calls: WebhookCall[]
  accounting: Accounting
  samples: Sample[]
}

/** One run of the rate cap: a backlog built while the consumer was paused, then drained from `resumedAt`. */
export interface RateRun {
  cap: number
  resumedAt: number
  /** Every downstream call after the resume. */
  calls: WebhookCall[]
  accounting: Accounting
  samples: Sample[]
}

export interface LevelingSettings {
  count: number
  outageSeconds: number
  breakerFailures: number
  breakerOpenSeconds: number
  breakerMaxOpenSeconds: number
  retryBaseSeconds: number
  maxReceiveCount: number
  batchSize: number
  maxConcurrency: number
  rateCap: number
}

export interface OutageFigures {
  variant: OutageRun['variant']
  breakerFailures: number
  callsDuringOutage: number
  invocationsDuringOutage: number
  openings: number
  movedToDlq: number
  /** Seconds from the downstream's recovery to an empty queue; null when it did not empty. */
  recoveryToEmptySeconds: number | null
  accounting: Accounting
}

export interface RateFigures {
  cap: number
  deliveries: number
  /** The most calls the downstream received in any one second (a sliding window). */
  largestOneSecond: number
  /** Calls per second from the first to the last. */
  drainPerSecond: number
  drainVsCap: number
  accounting: Accounting
}

export interface LevelingSummary {
  startedAt: string
  seconds: number
  settings: LevelingSettings
  outage: OutageFigures[]
  rate: RateFigures | null
  targets: Target[]
}

/** Calls that arrived in [from, to). */
const callsBetween = (calls: readonly WebhookCall[], from: number, to: number): number => calls.filter((call) => call.receivedAt >= from && call.receivedAt < to).length

/** Invocations started between two readings: finished plus under way, at each. */
const invocationsBetween = (from: ConsumerReading, to: ConsumerReading): number => Math.max(0, to.batches + to.inFlight - (from.batches + from.inFlight))

export function outageFigures(run: OutageRun): OutageFigures {
  return {
    variant: run.variant,
    breakerFailures: run.breakerFailures,
    callsDuringOutage: callsBetween(run.calls, run.downAt, run.upAt),
    invocationsDuringOutage: invocationsBetween(run.atDown, run.atUp),
    openings: run.openings,
    movedToDlq: run.accounting.inDlq,
    recoveryToEmptySeconds: run.emptyAt === null ? null : Math.max(0, run.emptyAt - run.upAt) / 1000,
    accounting: run.accounting,
  }
}

export function rateFigures(run: RateRun): RateFigures {
  const moments = run.calls.filter((call) => call.receivedAt >= run.resumedAt).map((call) => call.receivedAt).sort((a, b) => a - b)
  const span = moments.length > 1 ? (moments.at(-1)! - moments[0]!) / 1000 : 0
  const drainPerSecond = span > 0 ? (moments.length - 1) / span : 0
  return { cap: run.cap, deliveries: moments.length, largestOneSecond: mostInWindow(moments, 1000), drainPerSecond, drainVsCap: drainPerSecond / run.cap, accounting: run.accounting }
}

/** What SPEC "Measured" asks of the breaker; the drain floor is SPEC's "at least 90 % of the cap". */
export const RECOVERY_SLACK_SECONDS = 30
export const RATE_DRAIN_TARGET = 0.9

/** Every accepted task delivered exactly once, or (with the breaker off) in the DLQ; nothing missing. */
const onceOrParked = (accounting: Accounting): boolean =>
  accounting.duplicated === 0 && accounting.missing === 0 && accounting.stillQueued === 0 && accounting.deliveredOnce + accounting.inDlq === accounting.accepted

const accounted = (accounting: Accounting): string =>
  `${accounting.deliveredOnce} of ${accounting.accepted} delivered once, ${accounting.inDlq} in the DLQ, ${accounting.duplicated} twice, ${accounting.missing + accounting.stillQueued} missing`

export function levelingTargets(settings: LevelingSettings, outage: OutageFigures[], rate: RateFigures | null): Target[] {
  const targets: Target[] = []
  const breaker = outage.find((figures) => figures.variant === 'breaker')
  const bound = breaker ? settings.breakerFailures + settings.maxConcurrency * settings.batchSize + breaker.openings : null
  targets.push({
    name: 'Outage, with the breaker: nothing moved to the DLQ',
    detail: breaker ? `${breaker.movedToDlq} in the DLQ` : 'not measured',
    met: breaker ? breaker.movedToDlq === 0 : null,
  })
  targets.push({
    name: 'Outage, with the breaker: downstream calls during the outage at most BREAKER_FAILURES + maxConcurrency x batchSize + one per open period',
    detail: breaker && bound !== null ? `${breaker.callsDuringOutage} calls, bound ${settings.breakerFailures} + ${settings.maxConcurrency} x ${settings.batchSize} + ${breaker.openings} = ${bound}` : 'not measured',
    met: breaker && bound !== null ? breaker.callsDuringOutage <= bound : null,
  })
  const recoveryLimit = settings.breakerMaxOpenSeconds + RECOVERY_SLACK_SECONDS
  targets.push({
    name: `Outage, with the breaker: queue empty within one open period + ${RECOVERY_SLACK_SECONDS} s of recovery (the longest period, BREAKER_MAX_OPEN_SECONDS ${settings.breakerMaxOpenSeconds}: ${recoveryLimit} s)`,
    detail: breaker ? (breaker.recoveryToEmptySeconds === null ? 'did not empty' : `${breaker.recoveryToEmptySeconds.toFixed(1)} s`) : 'not measured',
    met: breaker ? breaker.recoveryToEmptySeconds !== null && breaker.recoveryToEmptySeconds <= recoveryLimit : null,
  })
  for (const figures of outage) {
    targets.push({
      name: `Outage, ${figures.variant === 'breaker' ? 'with the breaker' : 'BREAKER_FAILURES=0'}: every notification delivered once${figures.variant === 'breaker' ? '' : ' or in the DLQ'}`,
      detail: accounted(figures.accounting),
      met: figures.variant === 'breaker' ? onceOrParked(figures.accounting) && figures.accounting.inDlq === 0 : onceOrParked(figures.accounting),
    })
  }
  targets.push({
    name: `Rate cap: never more than the cap (${settings.rateCap}) in any one-second window`,
    detail: rate ? `largest one-second count ${rate.largestOneSecond}` : 'not measured',
    met: rate ? rate.largestOneSecond <= rate.cap : null,
  })
  targets.push({
    name: `Rate cap: a backlog drains at ${RATE_DRAIN_TARGET * 100} % of the cap or more`,
    detail: rate ? `${rate.drainPerSecond.toFixed(2)}/s, ${(rate.drainVsCap * 100).toFixed(0)} % of ${rate.cap}/s over ${rate.deliveries} deliveries` : 'not measured',
    met: rate ? rate.drainVsCap >= RATE_DRAIN_TARGET : null,
  })
  targets.push({ name: 'Rate cap: every notification delivered once', detail: rate ? accounted(rate.accounting) : 'not measured', met: rate ? onceOrParked(rate.accounting) && rate.accounting.inDlq === 0 : null })
  return targets
}
