import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics'
import type { RelayMetrics } from '../tasks/service.ts'
import { metricsStage, STAGE_DIMENSION } from './powertools-metrics.ts'

/** What the outbox relay reports to CloudWatch; the template's OutboxParkedAlarm watches this metric. */
export const RELAY_METRICS = { namespace: 'QueueLeveling', serviceName: 'relay', parked: 'OutboxEventsParked' } as const

/**
 * RelayMetrics as one CloudWatch embedded metric format (EMF) line per relay
 * run that parked something, through Powertools Metrics (dimensions `service`
 * and `stage`, so the alarm of one stage does not fire on another's parking).
 */
export class PowertoolsRelayMetrics implements RelayMetrics {
  readonly #metrics: Metrics
  #parked = 0

  constructor(stage: string = metricsStage()) {
    this.#metrics = new Metrics({ namespace: RELAY_METRICS.namespace, serviceName: RELAY_METRICS.serviceName, defaultDimensions: { [STAGE_DIMENSION]: stage } })
  }

  eventParked(): void {
    this.#parked++
  }

  /** Writes what this run counted; a run that parked nothing writes nothing (the alarm treats missing data as fine). */
  flush(): void {
    if (this.#parked === 0) return
    this.#metrics.addMetric(RELAY_METRICS.parked, MetricUnit.Count, this.#parked)
    this.#parked = 0
    this.#metrics.publishStoredMetrics()
  }
}
