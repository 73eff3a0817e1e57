import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics'
import type { ChannelName } from '../notifications/delivery-log.ts'
import type { DeliveryMetrics } from '../notifications/delivery-metrics.ts'
import type { LevelingMetrics } from '../leveling/metrics.ts'
import type { PausedBy } from '../leveling/reconcile.ts'

/** The CloudWatch metric names, as docs/operations.md lists them. */
export const METRIC = {
  delivered: 'Delivered',
  deliveryLatency: 'DeliveryLatency',
  channelCallDuration: 'ChannelCallDuration',
  failed: 'DeliveryFailed',
  retries: 'Retries',
  duplicatesSkipped: 'DuplicatesSkipped',
  invalidMessages: 'InvalidMessages',
  // Adaptive leveling (docs/adaptive-leveling.md): per channel, and two gauges (1 or 0) written at each reconcile.
  breakerOpened: 'BreakerOpened',
  breakerClosed: 'BreakerClosed',
  deferred: 'DeliveryDeferred',
  consumerPaused: 'ConsumerPaused',
  pausedByBreaker: 'PausedByBreaker',
} as const

export interface MetricsOptions {
  namespace: string
  serviceName: string
  /** The `stage` dimension; by default the function's ARC_ENV (metricsStage). */
  stage?: string
}

/** The consumer's metrics: CloudWatch namespace and `service` dimension (the deployed dashboard queries them). */
export const DELIVERY_METRICS = { namespace: 'QueueLeveling', serviceName: 'notifications' } as const

/** Every metric's dimension that names the stage, so that two stages in one account do not mix. */
export const STAGE_DIMENSION = 'stage'

/**
 * The stage a function runs in: Architect's ARC_ENV (`staging` or `production`
 * deployed, `testing` in the sandbox). Outside Architect (a unit test) it is
 * unset, and Architect's own default, `testing`, is what such a run is.
 */
export const metricsStage = (env: NodeJS.ProcessEnv = process.env): string => env.ARC_ENV || 'testing'

type Dimensions = Record<string, string>

/**
 * DeliveryMetrics as CloudWatch embedded metric format (EMF) log lines through
 * Powertools Metrics. One EMF object shares its dimensions across all its
 * metrics, so each dimension set (a channel, a channel and whether a failure
 * may pass) gets its own Metrics instance; `flush` writes them all, one line
 * each, once per invocation.
 */
export class PowertoolsDeliveryMetrics implements DeliveryMetrics, LevelingMetrics {
  readonly #options: MetricsOptions
  readonly #stage: string
  readonly #sets = new Map<string, { metrics: Metrics; counts: Map<string, number> }>()

  constructor(options: MetricsOptions = DELIVERY_METRICS) {
    this.#options = options
    this.#stage = options.stage ?? metricsStage()
  }

  delivered(channel: ChannelName, latencyMs: number): void {
    this.#count({ channel }, METRIC.delivered)
    this.#set({ channel }).metrics.addMetric(METRIC.deliveryLatency, MetricUnit.Milliseconds, latencyMs)
  }

  retried(channel: ChannelName): void {
    this.#count({ channel }, METRIC.retries)
  }

  failed(channel: ChannelName, retryable: boolean): void {
    this.#count({ channel, retryable: String(retryable) }, METRIC.failed)
  }

  channelCall(channel: ChannelName, durationMs: number): void {
    this.#set({ channel }).metrics.addMetric(METRIC.channelCallDuration, MetricUnit.Milliseconds, durationMs)
  }

  duplicateSkipped(channel: ChannelName): void {
    this.#count({ channel }, METRIC.duplicatesSkipped)
  }

  invalidMessage(): void {
    this.#count({}, METRIC.invalidMessages)
  }

  breakerOpened(channel: ChannelName): void {
    this.#count({ channel }, METRIC.breakerOpened)
  }

  breakerClosed(channel: ChannelName): void {
    this.#count({ channel }, METRIC.breakerClosed)
  }

  deferred(channel: ChannelName): void {
    this.#count({ channel }, METRIC.deferred)
  }

  /** Gauges, not counts: their Maximum over a period says whether the consumer was paused in it, and by the breaker. */
  paused(by: PausedBy): void {
    const { metrics } = this.#set({})
    metrics.addMetric(METRIC.consumerPaused, MetricUnit.Count, by === null ? 0 : 1)
    metrics.addMetric(METRIC.pausedByBreaker, MetricUnit.Count, by === 'breaker' ? 1 : 0)
  }

  /** Writes what this invocation measured; an invocation that measured nothing writes nothing. */
  flush(): void {
    for (const set of this.#sets.values()) {
      // Counts go out as one sum each rather than a value per event: a batch can hold thousands of records.
      for (const [name, count] of set.counts) set.metrics.addMetric(name, MetricUnit.Count, count)
      set.counts.clear()
      if (set.metrics.hasStoredMetrics()) set.metrics.publishStoredMetrics()
    }
  }

  #count(dimensions: Dimensions, name: string): void {
    const { counts } = this.#set(dimensions)
    counts.set(name, (counts.get(name) ?? 0) + 1)
  }

  #set(dimensions: Dimensions): { metrics: Metrics; counts: Map<string, number> } {
    const key = JSON.stringify(dimensions)
    let set = this.#sets.get(key)
    if (!set) {
      const { namespace, serviceName } = this.#options
      set = { metrics: new Metrics({ namespace, serviceName, defaultDimensions: { [STAGE_DIMENSION]: this.#stage, ...dimensions } }), counts: new Map() }
      this.#sets.set(key, set)
    }
    return set
  }
}
