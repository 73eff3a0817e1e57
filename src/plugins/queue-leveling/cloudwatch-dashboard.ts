/**
 * The deployed stage's CloudWatch dashboard: the same story the local
 * dashboard tells, from CloudWatch metrics. A burst arrives (API requests),
 * the queue fills (waiting, in flight, oldest age), the consumer drains it at
 * its bound (concurrent executions under maxConcurrency), deliveries succeed,
 * fail or retry (the consumer's EMF metrics), and what could not be delivered
 * waits in the DLQ. Pure: returns a changed copy of the template.
 *
 * The body is one Fn::Sub string, so every metric names this stack's own
 * queues (`${Queue.QueueName}`), functions and API (`${Ref}`) and region; the
 * stage is written in as a literal, as the EMF `stage` dimension carries it.
 */
import { queueLogicalIds } from 'arc-plugin-sqs-queues/names'
import type { QueueSettings } from 'arc-plugin-sqs-queues/settings'
import type { CfnTemplate, CfnValue, Stage } from 'arc-plugin-sqs-queues/template'
import type { DeploySettings } from './deploy-settings.ts'

export const DASHBOARD = 'Dashboard'
export const DASHBOARD_URL_OUTPUT = 'DashboardUrl'

/**
 * The consumer's and the relay's embedded metrics as the code writes them
 * (powertools-metrics.ts, powertools-relay-metrics.ts): namespace, each
 * metric's exact dimension set, and the fixed values. A query that names
 * another dimension set finds nothing, so the template test checks these
 * against the EMF lines the adapters print.
 */
export const EMF = {
  namespace: 'QueueLeveling',
  delivery: {
    service: 'notifications',
    /** Delivered, Retries, DeliveryLatency: one series per channel. */
    byChannel: ['channel', 'service', 'stage'],
    /** DeliveryFailed: per channel and whether a later try may pass. */
    failures: ['channel', 'retryable', 'service', 'stage'],
    metrics: { delivered: 'Delivered', failed: 'DeliveryFailed', retries: 'Retries', latency: 'DeliveryLatency' },
  },
  relay: { service: 'relay', dimensions: ['service', 'stage'], parked: 'OutboxEventsParked' },
  /** Adaptive leveling: written by the consumer and the consumer-control function, under the consumer's service. */
  leveling: {
    /** BreakerOpened, BreakerClosed, DeliveryDeferred: one series per channel. */
    byChannel: ['channel', 'service', 'stage'],
    /** ConsumerPaused, PausedByBreaker: gauges, 1 or 0, written at each reconcile and each link of a probe timer's chain. */
    gauges: ['service', 'stage'],
    metrics: { opened: 'BreakerOpened', closed: 'BreakerClosed', deferred: 'DeliveryDeferred', paused: 'ConsumerPaused', pausedByBreaker: 'PausedByBreaker' },
  },
} as const

/**
 * While a breaker holds the consumer the pause gauges get a data point at
 * least this often (a probe timer's chain re-arms every 15 minutes at most,
 * SQS's longest delay): the period the alarm and the gauges' panel read them by.
 */
export const PAUSE_GAUGE_PERIOD_SECONDS = 900

/** HTTP APIs (API Gateway v2) publish per stage; Architect deploys the `$default` stage. */
const API_STAGE = '$default'
/** One-minute points: SQS and Lambda publish every minute, and a burst lasts minutes. */
const PERIOD = 60
const WIDTH = 8
const HEIGHT = 6

/** `${Id}` or `${Id.Attribute}` inside the body: CloudFormation fills it in. */
const sub = (reference: string): string => `\${${reference}}`

type Widget = { type: string; x: number; y: number; width: number; height: number; properties: Record<string, unknown> }
type Metric = (string | Record<string, unknown>)[]

function graph(title: string, metrics: Metric[], options: Record<string, unknown> = {}): Omit<Widget, 'x' | 'y'> {
  return {
    type: 'metric',
    width: WIDTH,
    height: HEIGHT,
    properties: { title, view: 'timeSeries', region: sub('AWS::Region'), period: PERIOD, yAxis: { left: { min: 0 } }, metrics, ...options },
  }
}

/** A SEARCH over the EMF metrics of one dimension set, this stage's alone; one series per value of the dimensions not fixed. */
function emfSearch(id: string, label: string, dimensions: readonly string[], metricName: string, fixed: Record<string, string>, stat: string, period = PERIOD): Metric {
  const terms = [`MetricName="${metricName}"`, ...Object.entries(fixed).map(([name, value]) => `${name}="${value}"`)].join(' ')
  return [{ id, label, expression: `SEARCH('{${[EMF.namespace, ...dimensions].join(',')}} ${terms}', '${stat}', ${period})` }]
}

function queueWidgets(queue: QueueSettings, settings: DeploySettings): Omit<Widget, 'x' | 'y'>[] {
  const ids = queueLogicalIds(queue.name)
  const queueName = sub(`${ids.queue}.QueueName`)
  const consumer = sub(ids.lambda)
  return [
    graph(`${queue.name}: messages waiting and in flight`, [
      ['AWS/SQS', 'ApproximateNumberOfMessagesVisible', 'QueueName', queueName, { label: 'waiting', stat: 'Maximum' }],
      ['AWS/SQS', 'ApproximateNumberOfMessagesNotVisible', 'QueueName', queueName, { label: 'in flight', stat: 'Maximum' }],
    ]),
    graph(
      `${queue.name}: age of the oldest message (s)`,
      [['AWS/SQS', 'ApproximateAgeOfOldestMessage', 'QueueName', queueName, { label: 'oldest message', stat: 'Maximum' }]],
      { annotations: { horizontal: [{ label: 'age alarm', value: settings.alarmOldestMessageSeconds }] } },
    ),
    graph(`${queue.name}: DLQ depth`, [
      ['AWS/SQS', 'ApproximateNumberOfMessagesVisible', 'QueueName', sub(`${ids.dlq}.QueueName`), { label: 'in the DLQ', stat: 'Maximum' }],
    ]),
    graph(
      `${queue.name} consumer: concurrent executions`,
      [['AWS/Lambda', 'ConcurrentExecutions', 'FunctionName', consumer, { label: 'concurrent executions', stat: 'Maximum' }]],
      // The event source mapping's bound: the line the consumer should never cross.
      { annotations: { horizontal: [{ label: 'maxConcurrency', value: queue.maxConcurrency }] } },
    ),
    graph(`${queue.name} consumer: errors and throttles`, [
      ['AWS/Lambda', 'Errors', 'FunctionName', consumer, { label: 'errors (crash or timeout)', stat: 'Sum' }],
      ['AWS/Lambda', 'Throttles', 'FunctionName', consumer, { label: 'throttles', stat: 'Sum' }],
    ]),
  ]
}

function deliveryWidgets(stage: Stage): Omit<Widget, 'x' | 'y'>[] {
  const { delivery, relay } = EMF
  const fixed = { service: delivery.service, stage }
  return [
    graph('Deliveries, failures and retries per channel', [
      emfSearch('delivered', 'delivered', delivery.byChannel, delivery.metrics.delivered, fixed, 'Sum'),
      emfSearch('failed', 'failed', delivery.failures, delivery.metrics.failed, fixed, 'Sum'),
      emfSearch('retries', 'retries', delivery.byChannel, delivery.metrics.retries, fixed, 'Sum'),
    ]),
    graph('Delivery latency (ms, from the event to delivery)', [
      emfSearch('p50', 'p50', delivery.byChannel, delivery.metrics.latency, fixed, 'p50'),
      emfSearch('p95', 'p95', delivery.byChannel, delivery.metrics.latency, fixed, 'p95'),
    ]),
    graph('Outbox events parked (SQS kept refusing them)', [
      [EMF.namespace, relay.parked, 'service', relay.service, 'stage', stage, { label: 'parked', stat: 'Sum' }],
    ]),
  ]
}

/**
 * Adaptive leveling: the breakers opening and closing per channel, the
 * deliveries sent again for later, and whether the consumer was paused (by
 * anyone, and by a breaker), drawn by the pause alarm's period, with its
 * threshold: the gauges are written at reconciles and timer links, not every minute.
 */
function levelingWidgets(stage: Stage, settings: DeploySettings): Omit<Widget, 'x' | 'y'>[] {
  const { leveling, delivery } = EMF
  const fixed = { service: delivery.service, stage }
  return [
    graph('Breakers opened and closed per channel', [
      emfSearch('opened', 'opened', leveling.byChannel, leveling.metrics.opened, fixed, 'Sum'),
      emfSearch('closed', 'closed', leveling.byChannel, leveling.metrics.closed, fixed, 'Sum'),
    ]),
    graph('Deliveries sent again for later per channel (breaker open, probe out, rate slot too late)', [
      emfSearch('deferred', 'deferred', leveling.byChannel, leveling.metrics.deferred, fixed, 'Sum'),
    ]),
    graph(
      'Consumer paused (1): by anyone, by a breaker',
      [
        emfSearch('paused', 'paused', leveling.gauges, leveling.metrics.paused, fixed, 'Maximum', PAUSE_GAUGE_PERIOD_SECONDS),
        emfSearch('byBreaker', 'by a breaker', leveling.gauges, leveling.metrics.pausedByBreaker, fixed, 'Maximum', PAUSE_GAUGE_PERIOD_SECONDS),
      ],
      { period: PAUSE_GAUGE_PERIOD_SECONDS, yAxis: { left: { min: 0, max: 1 } }, annotations: { horizontal: [{ label: `alarm: by a breaker over ${settings.alarmPausedMinutes} min`, value: 1 }] } },
    ),
  ]
}

function apiWidgets(api: string): Omit<Widget, 'x' | 'y'>[] {
  const dimensions = ['ApiId', sub(api), 'Stage', API_STAGE]
  return [
    graph('API requests, 4xx and 5xx', [
      ['AWS/ApiGateway', 'Count', ...dimensions, { label: 'requests', stat: 'Sum' }],
      ['AWS/ApiGateway', '4xx', ...dimensions, { label: '4xx', stat: 'Sum' }],
      ['AWS/ApiGateway', '5xx', ...dimensions, { label: '5xx', stat: 'Sum' }],
    ]),
    graph('API latency (ms)', [
      ['AWS/ApiGateway', 'Latency', ...dimensions, { label: 'p50', stat: 'p50' }],
      ['AWS/ApiGateway', 'Latency', ...dimensions, { label: 'p95', stat: 'p95' }],
    ]),
  ]
}

/** Widgets three to a row, in the order given. */
function laidOut(widgets: Omit<Widget, 'x' | 'y'>[], top: number): Widget[] {
  const perRow = 24 / WIDTH
  return widgets.map(({ type, width, height, properties }, index) => ({ type, x: (index % perRow) * WIDTH, y: top + Math.floor(index / perRow) * HEIGHT, width, height, properties }))
}

/** The dashboard body: a title, then each queue's panels, the deliveries, the API. */
export function dashboardBody(template: CfnTemplate, queues: QueueSettings[], settings: DeploySettings, stage: Stage): string {
  const apis = Object.entries(template.Resources).filter(([, item]) => item.Type === 'AWS::Serverless::HttpApi').map(([id]) => id)
  const title: Widget = {
    type: 'text',
    x: 0,
    y: 0,
    width: 24,
    height: 2,
    properties: {
      markdown:
        `## ${sub('AWS::StackName')} (${stage}): queue-based load leveling\n` +
        'Requests arrive at the API, the queue absorbs the burst, the consumer drains it at no more than its maxConcurrency, and what fails for good waits in the DLQ (npm run dlq).',
    },
  }
  const widgets = [...queues.flatMap((queue) => queueWidgets(queue, settings)), ...deliveryWidgets(stage), ...levelingWidgets(stage, settings), ...apis.flatMap(apiWidgets)]
  return JSON.stringify({ start: '-PT3H', periodOverride: 'inherit', widgets: [title, ...laidOut(widgets, title.height)] })
}

/**
 * The stage's dashboard, named after the stack and its region (dashboard
 * names are one namespace per account, across regions), and its console URL
 * as a stack output.
 */
export function withDashboard(template: CfnTemplate, queues: QueueSettings[], settings: DeploySettings, stage: Stage): CfnTemplate {
  if (!settings.dashboard) return structuredClone(template)
  const result = structuredClone(template)
  result.Resources[DASHBOARD] = {
    Type: 'AWS::CloudWatch::Dashboard',
    Properties: {
      DashboardName: { 'Fn::Sub': '${AWS::StackName}-${AWS::Region}' },
      DashboardBody: { 'Fn::Sub': dashboardBody(result, queues, settings, stage) } satisfies CfnValue,
    },
  }
  result.Outputs = {
    ...result.Outputs,
    [DASHBOARD_URL_OUTPUT]: {
      Description: 'CloudWatch dashboard of this stage: the queue, the consumer, its deliveries, the DLQ and the API',
      Value: { 'Fn::Sub': `https://\${AWS::Region}.console.aws.amazon.com/cloudwatch/home?region=\${AWS::Region}#dashboards:name=\${${DASHBOARD}}` },
    },
  }
  return result
}
