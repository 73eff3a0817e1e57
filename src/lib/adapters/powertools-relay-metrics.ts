import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics'
import type { RelayMetrics } from '../tasks/service.ts'

/** What the outbox relay reports to CloudWatch; the template's OutboxParkedAlarm watches this metric. */
export const RELAY_METRICS = { namespace: 'QueueLeveling', serviceName: 'relay', parked: 'OutboxEventsParked' } as const

/**
 * RelayMetrics as one CloudWatch embedded metric format (EMF) line per relay
 * run that parked something, through Powertools Metrics (dimension `service`).
 */
export class PowertoolsRelayMetrics implements RelayMetrics {
  readonly #metrics = new Metrics({ namespace: RELAY_METRICS.namespace, serviceName: RELAY_METRICS.serviceName })
  #parked = 0

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
