import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics'
import type { ChannelName } from '../notifications/delivery-log.ts'
import type { DeliveryMetrics } from '../notifications/delivery-metrics.ts'

/** The CloudWatch metric names, as the README lists them. */
export const METRIC = {
  delivered: 'Delivered',
  deliveryLatency: 'DeliveryLatency',
  channelCallDuration: 'ChannelCallDuration',
  failed: 'DeliveryFailed',
  retries: 'Retries',
  duplicatesSkipped: 'DuplicatesSkipped',
  invalidMessages: 'InvalidMessages',
} as const

export interface MetricsOptions {
  namespace: string
  serviceName: string
}

type Dimensions = Record<string, string>

/**
 * DeliveryMetrics as CloudWatch embedded metric format (EMF) log lines through
 * Powertools Metrics. One EMF object shares its dimensions across all its
 * metrics, so each dimension set (a channel, a channel and whether a failure
 * may pass) gets its own Metrics instance; `flush` writes them all, one line
 * each, once per invocation.
 */
export class PowertoolsDeliveryMetrics implements DeliveryMetrics {
  readonly #options: MetricsOptions
  readonly #sets = new Map<string, { metrics: Metrics; counts: Map<string, number> }>()

  constructor(options: MetricsOptions = { namespace: 'QueueLeveling', serviceName: 'notifications' }) {
    this.#options = options
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
      set = { metrics: new Metrics({ ...this.#options, defaultDimensions: dimensions }), counts: new Map() }
      this.#sets.set(key, set)
    }
    return set
  }
}
