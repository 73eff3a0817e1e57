import typescript from '@architect/plugin-typescript'
import test from 'tape'
import { buildTemplate } from '../../scripts/template.ts'
import { DELIVERY_METRICS, PowertoolsDeliveryMetrics } from '../../src/lib/adapters/powertools-metrics.ts'
import { PowertoolsRelayMetrics, RELAY_METRICS } from '../../src/lib/adapters/powertools-relay-metrics.ts'
import { TRACING_VARIABLE } from '../../src/lib/tracing.ts'
import { DASHBOARD, DASHBOARD_URL_OUTPUT } from '../../src/plugins/queue-leveling/cloudwatch-dashboard.ts'
import { alarmLogicalIds, BREAKER_PAUSE_ALARM, OUTBOX_PARKED_ALARM } from '../../src/plugins/queue-leveling/cloudformation.ts'
import { referencesIn, type CfnResource, type CfnTemplate, type CfnValue } from 'arc-plugin-sqs-queues/template'
import { queueLogicalIds } from 'arc-plugin-sqs-queues/names'
import type { QueueOverrides } from '../../scripts/lib/harness/index.ts'
import { appWith, problemOf as fixtureProblem, SKIP_BUILD, type FixtureOptions } from '../helpers/template-fixture.ts'

/**
 * The deployable template, built offline (inventory, package, our deploy.start)
 * from the real app.arc and from copies with changed keys: every property the
 * plugin adds to CloudFormation, and the settings it refuses.
 */
const ids = queueLogicalIds('notifications')
const alarms = alarmLogicalIds('notifications')
const TASK_FUNCTIONS = ['GetTasksHTTPLambda', 'PostTasksHTTPLambda', 'GetTasksTaskIdHTTPLambda', 'PutTasksTaskIdHTTPLambda', 'DeleteTasksTaskIdHTTPLambda']
const DAY = 86_400

type Props = { [key: string]: CfnValue }
const props = (template: CfnTemplate, id: string): Props => {
  const found: CfnResource | undefined = template.Resources[id]
  if (!found?.Properties) throw new Error(`no resource ${id} with properties`)
  return found.Properties
}
const at = (value: CfnValue | undefined, ...path: (string | number)[]): CfnValue | undefined => {
  let current: CfnValue | undefined = value
  for (const key of path) current = current && typeof current === 'object' ? (current as Record<string | number, CfnValue>)[key] : undefined
  return current
}
const mapping = (template: CfnTemplate): CfnValue | undefined => props(template, ids.mapping)
const variables = (template: CfnTemplate, id: string): CfnValue | undefined => at(props(template, id).Environment, 'Variables')

const problemOf = async (options: FixtureOptions): Promise<string> => fixtureProblem({ cwd: await appWith(options), ...SKIP_BUILD })

// As arc deploy runs the plugins, but for plugin-typescript's build of the handlers into .build/, which leaves the template as
// it is and costs about 11 s of CPU (esbuild): npm test runs that same build once (scripts/lib/harness/handler-build.ts),
// and test/arc-sandbox.test.ts runs it as `npx arc sandbox` and `npm start` do. The test below holds the three to one code.
const staging = await buildTemplate({ stage: 'staging', ...SKIP_BUILD })
const production = await buildTemplate({ stage: 'production', ...SKIP_BUILD })

test("arc deploy's build of the handlers is plugin-typescript's sandbox build, the one npm test's shared bundles are compared with (test/arc-sandbox.test.ts)", (t) => {
  t.equal(typescript.deploy.start, typescript.sandbox.start, 'deploy.start and sandbox.start are one function (compileProject)')
  t.ok(SKIP_BUILD.skipPlugins?.every((name) => name === 'architect/plugin-typescript'), 'the only plugin these templates skip is that build')
  t.end()
})

test('the queue is standard, with visibility timeout, retention and a redrive to its DLQ', (t) => {
  const queue = props(staging, ids.queue)
  t.equal(staging.Resources[ids.queue]?.Type, 'AWS::SQS::Queue')
  t.equal(queue.FifoQueue, undefined, 'not FIFO')
  t.equal(queue.ContentBasedDeduplication, undefined)
  t.equal(queue.VisibilityTimeout, 190, 'visibilityTimeout 190: AWS guidance, 6x the 30 s consumer timeout plus the 1 s batch window')
  t.equal(queue.MessageRetentionPeriod, 4 * DAY, 'retentionDays 4')
  t.deepEqual(queue.RedrivePolicy, { deadLetterTargetArn: { 'Fn::GetAtt': ['NotificationsDeadLetterQueue', 'Arn'] }, maxReceiveCount: 5 }, 'to the DLQ after 5 receives (AWS guidance: at least 5)')
  t.equal(staging.Resources.NotificationsDeadLetterQueue?.Type, 'AWS::SQS::Queue', 'the DLQ has the logical id the DLQ tool looks up')
  t.equal(props(staging, 'NotificationsDeadLetterQueue').MessageRetentionPeriod, 14 * DAY, 'dlqRetentionDays 14')
  t.equal(props(staging, 'NotificationsDeadLetterQueue').FifoQueue, undefined)
  t.end()
})

test('the event source mapping: an explicit resource that batches, reports item failures and bounds concurrency, after its role', (t) => {
  t.equal(ids.mapping, 'NotificationsQueueLambdaNotificationsQueueEvent', "SAM's id for the SQS event's mapping: a deployed stack's mapping is updated in place")
  t.equal(staging.Resources[ids.mapping]?.Type, 'AWS::Lambda::EventSourceMapping')
  t.deepEqual(mapping(staging), {
    FunctionName: { Ref: ids.lambda },
    EventSourceArn: { 'Fn::GetAtt': ['NotificationsQueue', 'Arn'] },
    BatchSize: 10,
    MaximumBatchingWindowInSeconds: 1,
    FunctionResponseTypes: ['ReportBatchItemFailures'],
    ScalingConfig: { MaximumConcurrency: 2 },
  }, 'no Enabled: a deploy that changes the mapping leaves a pause alone')
  t.deepEqual(staging.Resources[ids.mapping]?.DependsOn, [`${ids.lambda}Role`], "created after the consumer's own role, which grants it the queue")
  t.equal(props(staging, ids.lambda).Events, undefined, 'the SQS event is gone from the function (SAM would make a second mapping of it)')
  t.equal(props(staging, ids.lambda).Timeout, 30, "the consumer keeps its config.arc timeout")
  const control = queueLogicalIds('consumer-control')
  t.deepEqual(props(staging, control.mapping), {
    FunctionName: { Ref: control.lambda },
    EventSourceArn: { 'Fn::GetAtt': [control.queue, 'Arn'] },
    BatchSize: 1,
    MaximumBatchingWindowInSeconds: 0,
    FunctionResponseTypes: ['ReportBatchItemFailures'],
    ScalingConfig: { MaximumConcurrency: 2 },
  }, 'the control queue has its own mapping, from its own keys')
  t.end()
})

/**
 * What a resource waits for: every Ref, GetAtt, Sub and DependsOn in it, less
 * a SAM function's Events, which SAM makes resources of their own that wait
 * for the function (an HttpApi event names the API, whose body names the function).
 */
function waitsFor(item: CfnResource): string[] {
  const properties = item.Type === 'AWS::Serverless::Function' ? { ...item.Properties, Events: null } : item.Properties
  return referencesIn({ ...item, Properties: properties ?? null })
}

/** Every cycle of references between the template's resources, each as the ids around it. */
function cyclesOf(template: CfnTemplate): string[][] {
  const cycles: string[][] = []
  const done = new Set<string>()
  const walk = (id: string, path: string[]): void => {
    const at = path.indexOf(id)
    if (at >= 0) return void cycles.push([...path.slice(at), id])
    if (done.has(id) || !template.Resources[id]) return
    for (const next of new Set(waitsFor(template.Resources[id]))) walk(next, [...path, id])
    done.add(id)
  }
  for (const id of Object.keys(template.Resources)) walk(id, [])
  return cycles
}

test("every function but a mapping's own consumer knows its UUID, by Ref, and the template has no cycle", (t) => {
  const control = queueLogicalIds('consumer-control')
  const functions = Object.entries(staging.Resources).filter(([, item]) => item.Type === 'AWS::Serverless::Function').map(([id]) => id)
  for (const id of functions.filter((id) => id !== ids.lambda)) {
    t.deepEqual(at(variables(staging, id), 'NOTIFICATIONS_EVENT_SOURCE_MAPPING'), { Ref: ids.mapping }, `${id} NOTIFICATIONS_EVENT_SOURCE_MAPPING`)
  }
  t.equal(at(variables(staging, ids.lambda), 'NOTIFICATIONS_EVENT_SOURCE_MAPPING'), undefined, 'the consumer does not name its own mapping (the mapping names the consumer)')
  // The control function's role names the notifications mapping, which names the consumer: the consumer cannot name the control mapping.
  t.equal(at(variables(staging, ids.lambda), 'CONSUMER_CONTROL_EVENT_SOURCE_MAPPING'), undefined, 'nor the control mapping, which reaches it through the control role')
  t.equal(at(variables(staging, control.lambda), 'CONSUMER_CONTROL_EVENT_SOURCE_MAPPING'), undefined, 'nor does the control function name its own')
  t.deepEqual(at(variables(staging, 'PostTasksHTTPLambda'), 'CONSUMER_CONTROL_EVENT_SOURCE_MAPPING'), { Ref: control.mapping }, 'another function names both')
  for (const [name, template] of [['staging', staging], ['production', production]] as const) {
    t.deepEqual(cyclesOf(template), [], `${name}: no resource refers to itself through others (CloudFormation refuses a cycle)`)
  }
  const cyclic = structuredClone(staging)
  ;(cyclic.Resources[ids.lambda]!.Properties!.Environment as { Variables: Record<string, CfnValue> }).Variables.CONSUMER_CONTROL_EVENT_SOURCE_MAPPING = { Ref: control.mapping }
  // A cycle as found starts wherever the walk entered it: read from the consumer on.
  const found = cyclesOf(cyclic)[0]?.slice(1) ?? []
  const rotated = [...found.slice(found.indexOf(ids.lambda)), ...found.slice(0, found.indexOf(ids.lambda))]
  t.deepEqual(
    rotated,
    [ids.lambda, control.mapping, control.lambda, `${control.lambda}Role`, ids.mapping],
    'the walk finds the cycle that variable would close: consumer -> control mapping -> control function -> its role -> notifications mapping -> consumer',
  )
  t.end()
})

test('the functions that publish or stretch visibility get the queue URLs by Ref', (t) => {
  for (const id of [...TASK_FUNCTIONS, ids.lambda, 'RelayOutboxScheduleLambda']) {
    t.deepEqual(at(variables(staging, id), 'NOTIFICATIONS_QUEUE_URL'), { Ref: 'NotificationsQueue' }, `${id} NOTIFICATIONS_QUEUE_URL`)
    t.deepEqual(at(variables(staging, id), 'NOTIFICATIONS_DLQ_URL'), { Ref: 'NotificationsDeadLetterQueue' }, `${id} NOTIFICATIONS_DLQ_URL`)
  }
  t.equal(at(variables(staging, ids.lambda), 'DELIVERY_RETENTION_DAYS'), '90', 'the consumer knows how long delivery records live')
  t.equal(at(variables(staging, ids.lambda), 'ARC_ENV'), 'staging', "Architect's own variables stay")
  t.end()
})

test('alarms: DLQ depth, oldest message age, consumer errors and throttles; no SNS topic by default', (t) => {
  const alarm = (id: string) => {
    t.equal(staging.Resources[id]?.Type, 'AWS::CloudWatch::Alarm', `${id} is an alarm`)
    return props(staging, id)
  }
  const dlq = alarm(alarms.dlqDepth)
  t.deepEqual([dlq.Namespace, dlq.MetricName, dlq.ComparisonOperator, dlq.Threshold], ['AWS/SQS', 'ApproximateNumberOfMessagesVisible', 'GreaterThanThreshold', 0])
  t.deepEqual(dlq.Dimensions, [{ Name: 'QueueName', Value: { 'Fn::GetAtt': ['NotificationsDeadLetterQueue', 'QueueName'] } }])
  const age = alarm(alarms.oldestMessage)
  t.deepEqual([age.Namespace, age.MetricName, age.ComparisonOperator, age.Threshold], ['AWS/SQS', 'ApproximateAgeOfOldestMessage', 'GreaterThanThreshold', 900])
  t.deepEqual(age.Dimensions, [{ Name: 'QueueName', Value: { 'Fn::GetAtt': ['NotificationsQueue', 'QueueName'] } }])
  for (const [id, metric] of [[alarms.errors, 'Errors'], [alarms.throttles, 'Throttles']] as const) {
    const lambda = alarm(id)
    t.deepEqual([lambda.Namespace, lambda.MetricName, lambda.Statistic, lambda.ComparisonOperator, lambda.Threshold], ['AWS/Lambda', metric, 'Sum', 'GreaterThanThreshold', 0])
    t.deepEqual(lambda.Dimensions, [{ Name: 'FunctionName', Value: { Ref: ids.lambda } }])
  }
  t.equal(dlq.AlarmActions, undefined, 'no actions without alarmEmail')
  t.notOk(Object.values(staging.Resources).some((item) => item.Type.startsWith('AWS::SNS::')), 'no SNS resources without alarmEmail')
  t.end()
})

test('alarm: a breaker keeping the consumer paused over alarmPausedMinutes (30), on the gauge the code writes', (t) => {
  t.equal(staging.Resources[BREAKER_PAUSE_ALARM]?.Type, 'AWS::CloudWatch::Alarm')
  const paused = props(staging, BREAKER_PAUSE_ALARM)
  t.deepEqual(
    [paused.Namespace, paused.MetricName, paused.Statistic, paused.ComparisonOperator, paused.Threshold],
    [DELIVERY_METRICS.namespace, 'PausedByBreaker', 'Maximum', 'GreaterThanOrEqualToThreshold', 1],
    'a period whose Maximum is 1: the breaker held the consumer in it (a probe between two openings writes 0, which Maximum passes over)',
  )
  t.deepEqual(paused.Dimensions, [{ Name: 'service', Value: DELIVERY_METRICS.serviceName }, { Name: 'stage', Value: 'staging' }], "the gauge's EMF dimensions, this stage's")
  const emitted = emittedMetrics('staging').filter((line) => line.name === paused.MetricName)
  t.deepEqual(emitted.map((line) => line.dimensions), [{ service: DELIVERY_METRICS.serviceName, stage: 'staging' }], 'exactly the dimension set the code writes it with')
  // A data point at least every 15 minutes while paused: 15-minute periods, 30 / 15 + 1 of them in a row, each breaching.
  t.deepEqual([paused.Period, paused.EvaluationPeriods, paused.DatapointsToAlarm], [900, 3, 3], '30 minutes: 3 quarter-hours in a row')
  t.equal(paused.TreatMissingData, 'notBreaching', 'a quarter-hour without a point had no breaker pause')
  t.match(String(paused.AlarmDescription), /over 30 minutes[\s\S]*npm run consumer -- status/, 'says how long, and what to look at')
  t.deepEqual(at(props(production, BREAKER_PAUSE_ALARM).Dimensions, 1), { Name: 'stage', Value: 'production' }, 'each stage watches its own')
  t.end()
})

test('alarm: an outbox event parked, on the metric the relay writes', (t) => {
  t.equal(staging.Resources[OUTBOX_PARKED_ALARM]?.Type, 'AWS::CloudWatch::Alarm')
  const parked = props(staging, OUTBOX_PARKED_ALARM)
  t.deepEqual(
    [parked.Namespace, parked.MetricName, parked.Statistic, parked.ComparisonOperator, parked.Threshold, parked.TreatMissingData],
    [RELAY_METRICS.namespace, RELAY_METRICS.parked, 'Sum', 'GreaterThanThreshold', 0, 'notBreaching'],
  )
  t.deepEqual(parked.Dimensions, [{ Name: 'service', Value: RELAY_METRICS.serviceName }, { Name: 'stage', Value: 'staging' }], "the relay's EMF dimensions, exactly")
  t.deepEqual(at(props(production, OUTBOX_PARKED_ALARM).Dimensions, 1), { Name: 'stage', Value: 'production' }, 'each stage watches its own relay')
  t.match(String(parked.AlarmDescription), /npm run outbox/, 'says what to do')
  t.equal(parked.AlarmActions, undefined, 'no actions without alarmEmail')
  t.end()
})

/** One metric a dashboard panel draws: a metric by its dimensions, or a SEARCH over a dimension set with some values fixed. */
interface PanelMetric {
  panel: string
  namespace: string
  name: string
  /** Dimension name -> value; a SEARCH leaves the names of its schema it does not fix unset. */
  dimensions: Record<string, string | undefined>
  stat: string
}

/**
 * The dashboard's body with each `${Reference}` of its Fn::Sub as `<Reference>`
 * (CloudFormation's values are not known offline), parsed, and every metric of
 * every panel read back, SEARCH expressions included.
 */
function dashboardOf(template: CfnTemplate): { widgets: { type: string; properties: Record<string, unknown> }[]; metrics: PanelMetric[]; references: string[] } {
  const body = (props(template, DASHBOARD).DashboardBody as { 'Fn::Sub': string })['Fn::Sub']
  const references = [...new Set([...body.matchAll(/\$\{([^}]+)\}/g)].map((match) => match[1]!))].sort()
  const parsed = JSON.parse(body.replace(/\$\{([^}]+)\}/g, '<$1>')) as { widgets: { type: string; properties: Record<string, unknown> }[] }
  const metrics: PanelMetric[] = []
  for (const widget of parsed.widgets.filter((candidate) => candidate.type === 'metric')) {
    const panel = String(widget.properties.title)
    for (const entry of widget.properties.metrics as unknown[][]) {
      const options = (typeof entry.at(-1) === 'object' ? entry.at(-1) : {}) as { expression?: string; stat?: string }
      if (options.expression !== undefined) {
        const search = /^SEARCH\('\{([^}]+)\} (.+)', '([^']+)', \d+\)$/.exec(options.expression)
        if (!search) throw new Error(`${panel}: not a SEARCH this test reads: ${options.expression}`)
        const [namespace, ...schema] = search[1]!.split(',')
        const terms = Object.fromEntries([...search[2]!.matchAll(/(\w+)="([^"]*)"/g)].map((match) => [match[1]!, match[2]!]))
        const { MetricName, ...fixed } = terms
        metrics.push({ panel, namespace: namespace!, name: MetricName!, dimensions: Object.fromEntries(schema.map((name) => [name, fixed[name]])), stat: search[3]! })
        if (Object.keys(fixed).some((name) => !schema.includes(name))) throw new Error(`${panel}: a SEARCH fixes a dimension outside its schema`)
        continue
      }
      const [namespace, name, ...pairs] = entry.filter((part): part is string => typeof part === 'string')
      const dimensions: Record<string, string> = {}
      for (let index = 0; index < pairs.length; index += 2) dimensions[pairs[index]!] = pairs[index + 1]!
      metrics.push({ panel, namespace: namespace!, name: name!, dimensions, stat: String(options.stat) })
    }
  }
  return { widgets: parsed.widgets, metrics, references }
}

/** The EMF lines the consumer's and the relay's metrics print for one of each kind of event, parsed: what CloudWatch will hold. */
function emittedMetrics(stage: string): { namespace: string; name: string; dimensions: Record<string, string> }[] {
  const lines: string[] = []
  const write = process.stdout.write.bind(process.stdout)
  process.stdout.write = ((chunk: string | Uint8Array) => (lines.push(String(chunk)), true)) as typeof process.stdout.write
  try {
    const delivery = new PowertoolsDeliveryMetrics({ ...DELIVERY_METRICS, stage })
    for (const channel of ['webhook', 'email', 'log'] as const) {
      delivery.delivered(channel, 20)
      delivery.retried(channel)
      delivery.failed(channel, true)
      delivery.failed(channel, false)
      delivery.breakerOpened(channel)
      delivery.breakerClosed(channel)
      delivery.deferred(channel)
    }
    delivery.paused('breaker')
    delivery.flush()
    const relay = new PowertoolsRelayMetrics(stage)
    relay.eventParked()
    relay.flush()
  } finally {
    process.stdout.write = write
  }
  return lines.flatMap((line) => {
    const emf = JSON.parse(line) as { _aws: { CloudWatchMetrics: { Namespace: string; Dimensions: string[][]; Metrics: { Name: string }[] }[] } } & Record<string, unknown>
    return emf._aws.CloudWatchMetrics.flatMap(({ Namespace, Dimensions, Metrics }) =>
      Dimensions.flatMap((set) => Metrics.map(({ Name }) => ({ namespace: Namespace, name: Name, dimensions: Object.fromEntries(set.map((key) => [key, String(emf[key])])) }))),
    )
  })
}

test('dashboard: one per stage, named after the stack, its URL a stack output', (t) => {
  t.equal(staging.Resources[DASHBOARD]?.Type, 'AWS::CloudWatch::Dashboard')
  t.deepEqual(props(staging, DASHBOARD).DashboardName, { 'Fn::Sub': '${AWS::StackName}-${AWS::Region}' }, "the stack's name, and its region: dashboard names are one namespace per account")
  const url = staging.Outputs?.[DASHBOARD_URL_OUTPUT]
  t.ok(url, 'the output exists')
  t.equal(
    (url?.Value as { 'Fn::Sub': string })['Fn::Sub'],
    'https://${AWS::Region}.console.aws.amazon.com/cloudwatch/home?region=${AWS::Region}#dashboards:name=${Dashboard}',
    "the console's page of this dashboard",
  )
  t.end()
})

test("dashboard: every panel's metrics name this stack's queues, consumer, API and stage", (t) => {
  const { metrics, references, widgets } = dashboardOf(staging)
  t.deepEqual(
    references,
    [
      'AWS::Region',
      'AWS::StackName',
      'ConsumerControlDeadLetterQueue.QueueName',
      'ConsumerControlQueue.QueueName',
      'ConsumerControlQueueLambda',
      'HTTP',
      'NotificationsDeadLetterQueue.QueueName',
      'NotificationsQueue.QueueName',
      ids.lambda,
    ],
    "the body refers to this stack's resources and nothing else",
  )
  const find = (namespace: string, name: string, dimensions: Record<string, string | undefined>, stat?: string) =>
    metrics.filter((metric) => metric.namespace === namespace && metric.name === name && JSON.stringify(metric.dimensions) === JSON.stringify(dimensions) && (stat === undefined || metric.stat === stat))
  const queue = { QueueName: '<NotificationsQueue.QueueName>' }
  const consumer = { FunctionName: `<${ids.lambda}>` }
  const api = { ApiId: '<HTTP>', Stage: '$default' }
  const expected: [string, string, Record<string, string>, string][] = [
    ['AWS/SQS', 'ApproximateNumberOfMessagesVisible', queue, 'Maximum'],
    ['AWS/SQS', 'ApproximateNumberOfMessagesNotVisible', queue, 'Maximum'],
    ['AWS/SQS', 'ApproximateAgeOfOldestMessage', queue, 'Maximum'],
    ['AWS/SQS', 'ApproximateNumberOfMessagesVisible', { QueueName: '<NotificationsDeadLetterQueue.QueueName>' }, 'Maximum'],
    ['AWS/Lambda', 'ConcurrentExecutions', consumer, 'Maximum'],
    ['AWS/Lambda', 'Errors', consumer, 'Sum'],
    ['AWS/Lambda', 'Throttles', consumer, 'Sum'],
    ['AWS/ApiGateway', 'Count', api, 'Sum'],
    ['AWS/ApiGateway', '4xx', api, 'Sum'],
    ['AWS/ApiGateway', '5xx', api, 'Sum'],
    ['AWS/ApiGateway', 'Latency', api, 'p50'],
    ['AWS/ApiGateway', 'Latency', api, 'p95'],
    [RELAY_METRICS.namespace, RELAY_METRICS.parked, { service: RELAY_METRICS.serviceName, stage: 'staging' }, 'Sum'],
  ]
  for (const [namespace, name, dimensions, stat] of expected) t.equal(find(namespace, name, dimensions, stat).length, 1, `${namespace} ${name} ${JSON.stringify(dimensions)} ${stat}`)
  const concurrency = widgets.find((widget) => ((widget.properties.metrics ?? []) as unknown[][]).some((entry) => entry.includes('ConcurrentExecutions')))
  t.deepEqual(concurrency?.properties.annotations, { horizontal: [{ label: 'maxConcurrency', value: 2 }] }, "the consumer's bound, maxConcurrency 2, drawn across its concurrency")
  const gauges = widgets.find((widget) => JSON.stringify(widget.properties.metrics ?? []).includes('PausedByBreaker'))
  t.equal(gauges?.properties.period, 900, "the pause gauges by the alarm's period: they are written at reconciles and timer links, at least every 15 minutes")
  t.ok(JSON.stringify(gauges?.properties.metrics).includes("'Maximum', 900)"), 'each SEARCH by that period too')
  // The consumer's EMF metrics: per channel, this stage's only.
  const delivery = { channel: undefined, service: DELIVERY_METRICS.serviceName, stage: 'staging' }
  for (const [name, dimensions, stat] of [
    ['Delivered', delivery, 'Sum'],
    ['Retries', delivery, 'Sum'],
    ['DeliveryFailed', { channel: undefined, retryable: undefined, service: DELIVERY_METRICS.serviceName, stage: 'staging' }, 'Sum'],
    ['DeliveryLatency', delivery, 'p50'],
    ['DeliveryLatency', delivery, 'p95'],
    // Adaptive leveling: per channel, and the pause gauges (one series each).
    ['BreakerOpened', delivery, 'Sum'],
    ['BreakerClosed', delivery, 'Sum'],
    ['DeliveryDeferred', delivery, 'Sum'],
    ['ConsumerPaused', { service: DELIVERY_METRICS.serviceName, stage: 'staging' }, 'Maximum'],
    ['PausedByBreaker', { service: DELIVERY_METRICS.serviceName, stage: 'staging' }, 'Maximum'],
  ] as const) {
    t.equal(find(DELIVERY_METRICS.namespace, name, dimensions, stat).length, 1, `${name} ${stat}, one series per channel`)
  }
  t.end()
})

test("dashboard: its EMF queries match the dimension sets the code writes, exactly, and the stage's value", (t) => {
  const emitted = emittedMetrics('staging')
  t.ok(emitted.length >= 5, 'the adapters printed their metrics')
  const queried = dashboardOf(staging).metrics.filter((metric) => metric.namespace === DELIVERY_METRICS.namespace)
  t.ok(queried.length >= 6, 'the dashboard queries them')
  for (const metric of queried) {
    const names = Object.keys(metric.dimensions).sort()
    const matches = emitted.filter(
      (line) =>
        line.name === metric.name &&
        JSON.stringify(Object.keys(line.dimensions).sort()) === JSON.stringify(names) &&
        names.every((name) => metric.dimensions[name] === undefined || metric.dimensions[name] === line.dimensions[name]),
    )
    t.ok(matches.length > 0, `${metric.panel}: ${metric.name} {${names.join(',')}} finds what the code writes`)
    t.equal(metric.dimensions.stage, 'staging', `${metric.name}: this stage only`)
  }
  t.end()
})

test('dashboard: production draws its own stage; dashboard false leaves it out; maxConcurrency follows @queues', async (t) => {
  const body = (template: CfnTemplate) => (props(template, DASHBOARD).DashboardBody as { 'Fn::Sub': string })['Fn::Sub']
  t.notEqual(body(production), body(staging), 'the two stages differ')
  t.equal(body(production).replaceAll('production', 'staging'), body(staging), 'in the stage alone')
  t.ok(dashboardOf(production).metrics.filter((metric) => metric.namespace === 'QueueLeveling').every((metric) => metric.dimensions.stage === 'production'), 'every EMF query of production names production')
  const [off, wider] = await Promise.all([
    buildTemplate({ cwd: await appWith({ pragma: 'dashboard false' }), ...SKIP_BUILD }),
    buildTemplate({ cwd: await appWith({ queue: { maxConcurrency: 9 } }), ...SKIP_BUILD }),
  ])
  t.equal(off.Resources[DASHBOARD], undefined, 'dashboard false: no dashboard')
  t.equal(off.Outputs?.[DASHBOARD_URL_OUTPUT], undefined, 'and no URL output')
  const annotation = dashboardOf(wider).widgets.map((widget) => widget.properties.annotations).find((value) => JSON.stringify(value ?? null).includes('maxConcurrency'))
  t.deepEqual(annotation, { horizontal: [{ label: 'maxConcurrency', value: 9 }] }, 'maxConcurrency 9 moves the line')
})

test('tracing: X-Ray active tracing on every function, and the setting that turns the tracer on; tracing false turns both off', async (t) => {
  const functions = (template: CfnTemplate) => Object.entries(template.Resources).filter(([, item]) => item.Type === 'AWS::Serverless::Function').map(([id]) => id)
  t.equal(functions(staging).length, 10)
  for (const id of functions(staging)) {
    t.equal(props(staging, id).Tracing, 'Active', `${id} Tracing: Active`)
    t.equal(at(variables(staging, id), TRACING_VARIABLE), 'true', `${id} ${TRACING_VARIABLE} true`)
    t.equal(props(production, id).Tracing, 'Active', `production ${id} too`)
  }
  const off = await buildTemplate({ cwd: await appWith({ pragma: 'tracing false' }), ...SKIP_BUILD })
  for (const id of functions(off)) {
    t.equal(props(off, id).Tracing, undefined, `tracing false: ${id} not traced by Lambda`)
    t.equal(at(variables(off, id), TRACING_VARIABLE), 'false', `tracing false: ${id} never loads the tracer`)
  }
  t.notOk(JSON.stringify(off).includes('xray:'), 'tracing false: no role may write to X-Ray')
  t.ok(JSON.stringify(staging).includes('xray:PutTraceSegments'), 'tracing true: the roles may')
})

test('HTTP API default route throttling: rate 100, burst 200', (t) => {
  t.deepEqual(props(staging, 'HTTP').DefaultRouteSettings, { ThrottlingRateLimit: 100, ThrottlingBurstLimit: 200 })
  t.end()
})

test('every function logs to a log group the stack owns, with retention', (t) => {
  const functions = Object.entries(staging.Resources).filter(([, item]) => item.Type === 'AWS::Serverless::Function')
  t.equal(functions.length, 10, 'seven HTTP functions, the consumer, the relay, the consumer-control function')
  for (const [id, fn] of functions) {
    const group = `${id}LogGroup`
    t.equal(staging.Resources[group]?.Type, 'AWS::Logs::LogGroup', `${id} has its own log group`)
    t.deepEqual(props(staging, group), { LogGroupName: { 'Fn::Sub': `/aws/lambda/\${AWS::StackName}-${id}` }, RetentionInDays: 30 })
    t.deepEqual(fn.Properties?.LoggingConfig, { LogGroup: { Ref: group } }, `${id} LoggingConfig.LogGroup`)
    t.deepEqual(fn.Properties?.FunctionName, { 'Fn::Sub': `\${AWS::StackName}-${id}` }, `${id} is named so that arc logs finds its group`)
  }
  t.end()
})

test('delivery records expire by TTL on expiresAt; other tables keep theirs', (t) => {
  t.deepEqual(props(staging, 'DeliveriesTable').TimeToLiveSpecification, { AttributeName: 'expiresAt', Enabled: true })
  t.deepEqual(props(staging, 'IdempotencyTable').TimeToLiveSpecification, { AttributeName: 'expiration', Enabled: true })
  t.equal(props(staging, 'TasksTable').TimeToLiveSpecification, undefined)
  t.end()
})

test('production tables get point-in-time recovery and deletion protection; staging tables do not', (t) => {
  for (const id of ['TasksTable', 'DeliveriesTable', 'IdempotencyTable']) {
    t.deepEqual(props(production, id).PointInTimeRecoverySpecification, { PointInTimeRecoveryEnabled: true }, `production ${id} PITR`)
    t.equal(props(production, id).DeletionProtectionEnabled, true, `production ${id} deletion protection`)
    t.equal(props(staging, id).PointInTimeRecoverySpecification, undefined, `staging ${id} no PITR`)
    t.equal(props(staging, id).DeletionProtectionEnabled, undefined, `staging ${id} no deletion protection`)
  }
  t.equal(at(variables(production, 'PostTasksHTTPLambda'), 'ARC_ENV'), 'production')
  // Apart from the tables and the stage names, the two templates are the same.
  const strip = (template: CfnTemplate) =>
    JSON.parse(
      JSON.stringify({ ...template, Description: '', Resources: Object.fromEntries(Object.entries(template.Resources).filter(([, item]) => item.Type !== 'AWS::DynamoDB::Table')) }).replaceAll('production', 'staging'),
    )
  t.deepEqual(strip(production), strip(staging), 'nothing else differs')
  t.end()
})

test('each @queues key changes the template', async (t) => {
  const cases: [QueueOverrides, (template: CfnTemplate) => CfnValue | undefined, CfnValue][] = [
    [{ batchSize: 5 }, (template) => at(mapping(template), 'BatchSize'), 5],
    [{ batchWindow: 7 }, (template) => at(mapping(template), 'MaximumBatchingWindowInSeconds'), 7],
    [{ maxConcurrency: 9 }, (template) => at(mapping(template), 'ScalingConfig', 'MaximumConcurrency'), 9],
    [{ maxReceiveCount: 6 }, (template) => at(props(template, ids.queue).RedrivePolicy, 'maxReceiveCount'), 6],
    [{ visibilityTimeout: 120 }, (template) => props(template, ids.queue).VisibilityTimeout, 120],
    [{ retentionDays: 2 }, (template) => props(template, ids.queue).MessageRetentionPeriod, 2 * DAY],
    [{ dlqRetentionDays: 7 }, (template) => props(template, ids.dlq).MessageRetentionPeriod, 7 * DAY],
  ]
  // Built side by side: each fixture is its own copy under .tmp/.
  const templates = await Promise.all(cases.map(async ([queue]) => buildTemplate({ cwd: await appWith({ queue }), ...SKIP_BUILD })))
  for (const [index, [queue, read, expected]] of cases.entries()) {
    const template = templates[index]!
    const key = Object.keys(queue)[0]
    t.notDeepEqual(read(staging), expected, `${key}: the real app differs from the fixture`)
    t.deepEqual(read(template), expected, `${key} ${JSON.stringify(Object.values(queue)[0])} reaches the template`)
  }
  const big = await buildTemplate({ cwd: await appWith({ queue: { batchSize: 500, batchWindow: 5 } }), ...SKIP_BUILD })
  t.deepEqual([at(mapping(big), 'BatchSize'), at(mapping(big), 'MaximumBatchingWindowInSeconds')], [500, 5], 'batchSize above 10 with a window')
})

test('@queue-leveling settings: alarm email and SNS topic, age threshold, throttling, log retention, delivery retention', async (t) => {
  const template = await buildTemplate({
    cwd: await appWith({
      pragma: ['alarmEmail "ops@example.com"', 'alarmOldestMessageSeconds 1800', 'alarmPausedMinutes 60', 'throttleRate 25.5', 'throttleBurst 50', 'logRetentionDays 14', 'deliveryRetentionDays 30'].join('\n'),
    }),
    ...SKIP_BUILD,
  })
  t.equal(template.Resources.AlarmTopic?.Type, 'AWS::SNS::Topic')
  t.equal(template.Resources.AlarmTopicEmailSubscription?.Type, 'AWS::SNS::Subscription')
  t.deepEqual(props(template, 'AlarmTopicEmailSubscription'), { TopicArn: { Ref: 'AlarmTopic' }, Protocol: 'email', Endpoint: 'ops@example.com' })
  for (const id of Object.values(alarms)) {
    t.deepEqual(props(template, id).AlarmActions, [{ Ref: 'AlarmTopic' }], `${id} alarms the topic`)
    t.deepEqual(props(template, id).OKActions, [{ Ref: 'AlarmTopic' }], `${id} says when it is OK again`)
  }
  t.deepEqual(props(template, OUTBOX_PARKED_ALARM).AlarmActions, [{ Ref: 'AlarmTopic' }], 'the parked-event alarm too')
  t.deepEqual(props(template, BREAKER_PAUSE_ALARM).AlarmActions, [{ Ref: 'AlarmTopic' }], 'and the breaker-pause alarm')
  t.equal(props(template, alarms.oldestMessage).Threshold, 1800)
  t.deepEqual([props(template, BREAKER_PAUSE_ALARM).EvaluationPeriods, props(template, BREAKER_PAUSE_ALARM).DatapointsToAlarm], [5, 5], 'alarmPausedMinutes 60: 5 quarter-hours in a row')
  t.match(String(props(template, BREAKER_PAUSE_ALARM).AlarmDescription), /over 60 minutes/)
  t.deepEqual(props(template, 'HTTP').DefaultRouteSettings, { ThrottlingRateLimit: 25.5, ThrottlingBurstLimit: 50 })
  t.equal(props(template, 'PostTasksHTTPLambdaLogGroup').RetentionInDays, 14)
  t.equal(props(template, `${ids.lambda}LogGroup`).RetentionInDays, 14)
  t.equal(at(variables(template, ids.lambda), 'DELIVERY_RETENTION_DAYS'), '30')
})

test('settings AWS would refuse fail the build with a message naming the key', async (t) => {
  const queueCases: [FixtureOptions, RegExp][] = [
    [{ queue: { batchSize: 11, batchWindow: 0 } }, /Invalid queue settings in app\.arc:[\s\S]*batchSize 11 is above 10, which AWS allows only with batchWindow of at least 1 second/],
    [{ queue: { maxConcurrency: 1 } }, /maxConcurrency must be a whole number from 2 to 1000, got 1/],
    [{ queue: { visibilityTimeout: 20 } }, /visibilityTimeout 20s is below the consumer's timeout of 30s/],
    [{ queue: { visibilityTimeout: 60 }, consumerTimeout: 90 }, /visibilityTimeout 60s is below the consumer's timeout of 90s/],
    [{ queue: { retentionDays: 15 } }, /retentionDays must be a whole number from 1 to 14, got 15/],
    [{ pragma: 'throttleRate 0' }, /Invalid deploy settings in app\.arc:[\s\S]*@queue-leveling: throttleRate must be a number from 1 to 10000, got 0/],
    [{ pragma: 'throttleBurst 5001' }, /throttleBurst must be a whole number from 1 to 5000, got 5001/],
    [{ pragma: 'logRetentionDays 10' }, /logRetentionDays must be one of the values CloudWatch Logs accepts \(1, 3, 5, 7, 14, 30/],
    [{ pragma: 'alarmOldestMessageSeconds 30' }, /alarmOldestMessageSeconds must be a whole number from 60 to 1209600, got 30/],
    [{ pragma: 'alarmPausedMinutes 10' }, /alarmPausedMinutes must be a whole number from 15 to 1425, got 10/],
    [{ pragma: 'alarmPausedMinutes 1426' }, /alarmPausedMinutes must be a whole number from 15 to 1425, got 1426/],
    [{ pragma: 'alarmPausedMinutes 30.5' }, /alarmPausedMinutes must be a whole number from 15 to 1425, got 30.5/],
    [{ pragma: 'alarmEmail "not-an-email"' }, /alarmEmail must be an email address in quotes/],
    [{ pragma: 'deliveryRetentionDays 0' }, /deliveryRetentionDays must be a whole number from 1 to 3650, got 0/],
    [{ pragma: 'alarmMail "ops@example.com"' }, /unknown key "alarmMail"/],
    [{ pragma: 'dashboard yes' }, /@queue-leveling: dashboard must be true or false, got "yes"/],
    [{ pragma: 'tracing 1' }, /@queue-leveling: tracing must be true or false, got 1/],
  ]
  const problems = await Promise.all(queueCases.map(([options]) => problemOf(options)))
  for (const [index, [options, expected]] of queueCases.entries()) t.match(problems[index] ?? '', expected, JSON.stringify(options))
  t.equal(await problemOf({ pragma: 'throttleRate 50\nlogRetentionDays 7\ntracing false\ndashboard true' }), 'accepted', 'valid settings pass')
})
