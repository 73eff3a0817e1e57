import test from 'tape'
import { METRIC, PowertoolsDeliveryMetrics } from '../../src/lib/adapters/powertools-metrics.ts'
import { stdoutOf } from '../../scripts/lib/harness/stdout.ts'

/** Adaptive leveling's metrics as the Powertools adapter writes them: EMF lines a stage's dashboard and alarm read. */

type Emf = Record<string, unknown> & { _aws: { CloudWatchMetrics: { Namespace: string; Dimensions: string[][]; Metrics: { Name: string; Unit: string }[] }[] } }

function emitted(record: (metrics: PowertoolsDeliveryMetrics) => void): Emf[] {
  const lines = stdoutOf(() => {
    const metrics = new PowertoolsDeliveryMetrics({ namespace: 'QueueLeveling', serviceName: 'notifications', stage: 'production' })
    record(metrics)
    metrics.flush()
  })
  return lines.map((line) => JSON.parse(line) as Emf)
}

test('BreakerOpened, BreakerClosed and DeliveryDeferred per channel; the pause gauges without one', (t) => {
  const emf = emitted((metrics) => {
    metrics.breakerOpened('webhook')
    metrics.breakerOpened('webhook')
    metrics.breakerClosed('webhook')
    metrics.deferred('email')
    metrics.paused('breaker')
  })
  const webhook = emf.find((line) => line.channel === 'webhook')
  t.deepEqual(webhook?._aws.CloudWatchMetrics[0]?.Dimensions, [['service', 'stage', 'channel']])
  t.deepEqual([webhook?.[METRIC.breakerOpened], webhook?.[METRIC.breakerClosed]], [2, 1], 'BreakerOpened 2, BreakerClosed 1')
  t.equal(emf.find((line) => line.channel === 'email')?.[METRIC.deferred], 1, 'DeliveryDeferred')
  const gauges = emf.find((line) => line.channel === undefined)
  t.deepEqual(gauges?._aws.CloudWatchMetrics[0]?.Dimensions, [['service', 'stage']])
  t.deepEqual([gauges?.[METRIC.consumerPaused], gauges?.[METRIC.pausedByBreaker], gauges?.stage], [1, 1, 'production'], 'paused, by the breaker')
  t.deepEqual([METRIC.breakerOpened, METRIC.breakerClosed, METRIC.consumerPaused, METRIC.pausedByBreaker], ['BreakerOpened', 'BreakerClosed', 'ConsumerPaused', 'PausedByBreaker'])
  t.end()
})

test('the gauges say who holds the consumer: the operator is a pause but not the breaker; running is 0 and 0', (t) => {
  const gauge = (by: 'operator' | 'breaker' | null) => {
    const line = emitted((metrics) => metrics.paused(by)).find((each) => each.channel === undefined)
    return [line?.[METRIC.consumerPaused], line?.[METRIC.pausedByBreaker]]
  }
  t.deepEqual(gauge('operator'), [1, 0])
  t.deepEqual(gauge(null), [0, 0])
  t.end()
})
