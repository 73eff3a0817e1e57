/**
 * The deploy half of this app's plugin: what the queue-leveling app adds to the
 * template after the sqs-queues plugin has made its queues real: alarms, API
 * throttling, log groups the stack owns, table protection and expiry, the
 * consumer's delivery retention, X-Ray tracing, one IAM role per function (roles.ts), the
 * HTTP API's authorizer, CORS and access logs (http-api.ts), and the stage's
 * CloudWatch dashboard (cloudwatch-dashboard.ts). Pure: the
 * template given is not changed; a new one is returned.
 */
import { FUNCTION_ACCESS, type FunctionAccess } from './access.ts'
import { EMF, PAUSE_GAUGE_PERIOD_SECONDS, withDashboard } from './cloudwatch-dashboard.ts'
import type { DeploySettings } from './deploy-settings.ts'
import { withAccessLogs, withCors, withJwtAuthorizer, type GatewayAuth } from './http-api.ts'
import { withFunctionRoles } from './roles.ts'
import { TRACING_VARIABLE } from '../../lib/tracing.ts'
import { withMappingVariables } from 'arc-plugin-sqs-queues/cloudformation'
import { queueLogicalIds, toLogicalId } from 'arc-plugin-sqs-queues/names'
import type { QueueSettings } from 'arc-plugin-sqs-queues/settings'
import { functionsOf, isObject, ref, resource, TemplateError, variablesOf, type CfnResource, type CfnTemplate, type CfnValue, type Stage } from 'arc-plugin-sqs-queues/template'

export interface TransformOptions {
  stage: Stage
  queues: QueueSettings[]
  settings: DeploySettings
  /** The stack's name (arc deploy passes it; `<App><Stage>` by default). */
  stackName: string
  /** Whose tokens the HTTP API accepts (the stage's AUTH_* settings). */
  auth: GatewayAuth
  /** The stage's CORS_ALLOW_ORIGIN, as the Lambdas read it. */
  corsAllowOrigin: string
  /** The SSM parameter of the webhook signing secret (webhook-secret.ts). */
  webhookSecretParameter: string
  /** What each function uses; FUNCTION_ACCESS unless a test says otherwise. */
  access?: Record<string, FunctionAccess>
  /** Tables whose items expire: by table name, the TTL attribute. */
  ttlTables?: Record<string, string>
}

/** Lambda function names are at most 64 characters. */
const FUNCTION_NAME_MAX = 64
/** The delivery log expires through this attribute (epoch seconds), written by the app. */
export const DELIVERY_TTL = { table: 'deliveries', attribute: 'expiresAt' } as const

/** The whole transform, in the order the parts depend on one another. */
export function transformTemplate(template: CfnTemplate, options: TransformOptions): CfnTemplate {
  let result = withAlarms(template, options.queues, options.settings, options.stage)
  result = withDeliveryRetention(result, options.queues, options.settings)
  result = withApiThrottling(result, options.settings)
  result = withLogGroups(result, options.settings, options.stackName)
  result = withTables(result, options.stage, options.ttlTables ?? { [DELIVERY_TTL.table]: DELIVERY_TTL.attribute })
  result = withTracing(result, options.settings.tracing)
  // After the log groups: each role writes into its function's own group (and, traced, to X-Ray).
  result = withFunctionRoles(result, { access: options.access ?? FUNCTION_ACCESS, webhookSecretParameter: options.webhookSecretParameter, tracing: options.settings.tracing })
  // A role granted a mapping's ARN makes that mapping depend on more: the functions it now reaches lose its UUID (a cycle).
  result = withMappingVariables(result, options.queues)
  result = withJwtAuthorizer(result, options.auth)
  result = withCors(result, options.corsAllowOrigin)
  result = withAccessLogs(result, options.settings.logRetentionDays)
  result = withDashboard(result, options.queues, options.settings, options.stage)
  return result
}

/** The consumer learns how long a delivery record lives (it writes `expiresAt`). */
function withDeliveryRetention(template: CfnTemplate, queues: QueueSettings[], settings: DeploySettings): CfnTemplate {
  const result = structuredClone(template)
  for (const queue of queues) {
    const lambda = resource(result, queueLogicalIds(queue.name).lambda, 'AWS::Serverless::Function')
    variablesOf(lambda).DELIVERY_RETENTION_DAYS = String(settings.deliveryRetentionDays)
  }
  return result
}

/** The logical ids of the alarm resources of one queue. */
export const alarmLogicalIds = (queue: string): { dlqDepth: string; oldestMessage: string; errors: string; throttles: string } => {
  const base = toLogicalId(queue)
  return {
    dlqDepth: `${base}DeadLetterQueueDepthAlarm`,
    oldestMessage: `${base}QueueOldestMessageAlarm`,
    errors: `${base}ConsumerErrorsAlarm`,
    throttles: `${base}ConsumerThrottlesAlarm`,
  }
}
export const ALARM_TOPIC = 'AlarmTopic'
export const ALARM_SUBSCRIPTION = 'AlarmTopicEmailSubscription'
/**
 * The outbox relay parked an event SQS kept refusing: the metric the relay
 * writes (PowertoolsRelayMetrics; the template test checks they agree).
 */
export const OUTBOX_PARKED_ALARM = 'OutboxParkedAlarm'
export const OUTBOX_PARKED_METRIC = { namespace: 'QueueLeveling', name: 'OutboxEventsParked', service: 'relay' } as const
/** A breaker has kept the consumer paused longer than alarmPausedMinutes. */
export const BREAKER_PAUSE_ALARM = 'ConsumerPausedByBreakerAlarm'

/**
 * The quarter-hours the breaker-pause alarm looks at. The gauge has a data
 * point in every 15-minute period a breaker holds the consumer (the probe
 * timer's chain writes one at least every 15 minutes), and a period's
 * Maximum is 1 when the breaker held it at any point in it: a probe's moment
 * of half-open (0) between two openings does not break a long outage. N
 * minutes need ceil(N / 15) + 1 such periods in a row: a pause that starts
 * late in the first one has then lasted at least N minutes when the last
 * one has its point, and fires the alarm N to N + 15 minutes after it began.
 */
export const pauseAlarmPeriods = (minutes: number): number => Math.ceil((minutes * 60) / PAUSE_GAUGE_PERIOD_SECONDS) + 1

/** DLQ depth > 0, age of the oldest message, consumer errors and throttles, parked outbox events, a long breaker pause; optionally to an SNS topic with an email subscription. */
export function withAlarms(template: CfnTemplate, queues: QueueSettings[], settings: DeploySettings, stage: Stage): CfnTemplate {
  const result = structuredClone(template)
  const actions: { AlarmActions?: CfnValue; OKActions?: CfnValue } = {}
  if (settings.alarmEmail) {
    result.Resources[ALARM_TOPIC] = { Type: 'AWS::SNS::Topic', Properties: { DisplayName: { 'Fn::Sub': '${AWS::StackName} alarms' } } }
    result.Resources[ALARM_SUBSCRIPTION] = {
      Type: 'AWS::SNS::Subscription',
      Properties: { TopicArn: ref(ALARM_TOPIC), Protocol: 'email', Endpoint: settings.alarmEmail },
    }
    actions.AlarmActions = [ref(ALARM_TOPIC)]
    actions.OKActions = [ref(ALARM_TOPIC)]
  }
  const alarm = (properties: { [key: string]: CfnValue }): CfnResource => ({
    Type: 'AWS::CloudWatch::Alarm',
    Properties: { EvaluationPeriods: 1, TreatMissingData: 'notBreaching', ...properties, ...actions },
  })
  result.Resources[OUTBOX_PARKED_ALARM] = alarm({
    AlarmDescription: 'SQS kept refusing a task event: the relay parked it. See npm run outbox -- parked, then retry',
    Namespace: OUTBOX_PARKED_METRIC.namespace,
    MetricName: OUTBOX_PARKED_METRIC.name,
    // The relay's metrics carry its stage (ARC_ENV): this stage's alarm watches only its own relay.
    Dimensions: [{ Name: 'service', Value: OUTBOX_PARKED_METRIC.service }, { Name: 'stage', Value: stage }],
    Statistic: 'Sum',
    Period: 60,
    Threshold: 0,
    ComparisonOperator: 'GreaterThanThreshold',
  })
  const periods = pauseAlarmPeriods(settings.alarmPausedMinutes)
  result.Resources[BREAKER_PAUSE_ALARM] = alarm({
    AlarmDescription:
      `A breaker has kept the notifications consumer paused for over ${settings.alarmPausedMinutes} minutes (a downstream is down, or asked for a long Retry-After): ` +
      'messages wait in the queue, none is lost. See npm run consumer -- status --env <stage>',
    Namespace: EMF.namespace,
    MetricName: EMF.leveling.metrics.pausedByBreaker,
    Dimensions: [{ Name: 'service', Value: EMF.delivery.service }, { Name: 'stage', Value: stage }],
    Statistic: 'Maximum',
    Period: PAUSE_GAUGE_PERIOD_SECONDS,
    EvaluationPeriods: periods,
    DatapointsToAlarm: periods,
    Threshold: 1,
    ComparisonOperator: 'GreaterThanOrEqualToThreshold',
    // No point in a quarter-hour: no breaker held the consumer then (a paused consumer gets one at least every 15 minutes).
    TreatMissingData: 'notBreaching',
  })
  for (const queue of queues) {
    const ids = queueLogicalIds(queue.name)
    const alarms = alarmLogicalIds(queue.name)
    const queueName = (id: string): CfnValue => [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [id, 'QueueName'] } }]
    const functionName: CfnValue = [{ Name: 'FunctionName', Value: ref(ids.lambda) }]
    result.Resources[alarms.dlqDepth] = alarm({
      AlarmDescription: `Messages of ${queue.name} failed ${queue.maxReceiveCount} times and wait in its DLQ: see npm run dlq`,
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Dimensions: queueName(ids.dlq),
      Statistic: 'Maximum',
      Period: 300,
      Threshold: 0,
      ComparisonOperator: 'GreaterThanThreshold',
    })
    result.Resources[alarms.oldestMessage] = alarm({
      AlarmDescription: `The oldest message of ${queue.name} has waited over ${settings.alarmOldestMessageSeconds} s: the consumer is not keeping up or is failing`,
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateAgeOfOldestMessage',
      Dimensions: queueName(ids.queue),
      Statistic: 'Maximum',
      Period: 300,
      Threshold: settings.alarmOldestMessageSeconds,
      ComparisonOperator: 'GreaterThanThreshold',
    })
    result.Resources[alarms.errors] = alarm({
      AlarmDescription: `The ${queue.name} consumer failed invocations (a crash or timeout; failed records alone are not errors)`,
      Namespace: 'AWS/Lambda',
      MetricName: 'Errors',
      Dimensions: functionName,
      Statistic: 'Sum',
      Period: 60,
      Threshold: 0,
      ComparisonOperator: 'GreaterThanThreshold',
    })
    result.Resources[alarms.throttles] = alarm({
      AlarmDescription: `The ${queue.name} consumer was throttled (account or reserved concurrency)`,
      Namespace: 'AWS/Lambda',
      MetricName: 'Throttles',
      Dimensions: functionName,
      Statistic: 'Sum',
      Period: 60,
      Threshold: 0,
      ComparisonOperator: 'GreaterThanThreshold',
    })
  }
  return result
}

/** Default route throttling on every HTTP API of the stack. */
export function withApiThrottling(template: CfnTemplate, settings: DeploySettings): CfnTemplate {
  const result = structuredClone(template)
  for (const item of Object.values(result.Resources)) {
    if (item.Type !== 'AWS::Serverless::HttpApi') continue
    item.Properties ??= {}
    const current = isObject(item.Properties.DefaultRouteSettings) ? item.Properties.DefaultRouteSettings : {}
    item.Properties.DefaultRouteSettings = { ...current, ThrottlingRateLimit: settings.throttleRate, ThrottlingBurstLimit: settings.throttleBurst }
  }
  return result
}

/**
 * A log group the stack owns for every function, with retention, wired through
 * LoggingConfig. Functions are named `<stack>-<LogicalId>` so that their group,
 * `/aws/lambda/<stack>-<LogicalId>`, is where `arc logs` looks; it is a new name,
 * so a group a Lambda created on an earlier deploy cannot collide with it.
 */
export function withLogGroups(template: CfnTemplate, settings: DeploySettings, stackName: string): CfnTemplate {
  const result = structuredClone(template)
  for (const [id, fn] of functionsOf(result)) {
    const functionName = `${stackName}-${id}`
    if (functionName.length > FUNCTION_NAME_MAX) {
      throw new TemplateError(`Function name ${functionName} would be ${functionName.length} characters, over Lambda's ${FUNCTION_NAME_MAX}: use a shorter app name or route`)
    }
    const logGroup = `${id}LogGroup`
    result.Resources[logGroup] = {
      Type: 'AWS::Logs::LogGroup',
      Properties: { LogGroupName: { 'Fn::Sub': `/aws/lambda/\${AWS::StackName}-${id}` }, RetentionInDays: settings.logRetentionDays },
    }
    fn.Properties.FunctionName = { 'Fn::Sub': `\${AWS::StackName}-${id}` }
    fn.Properties.LoggingConfig = { LogGroup: ref(logGroup) }
  }
  return result
}

/**
 * X-Ray active tracing on every function (Lambda records each invocation), and
 * the setting that turns the app's tracer on (src/lib/tracing.ts), which
 * nothing sets locally; off, both are left out and the tracer is never loaded.
 * Each role's X-Ray permission comes with withFunctionRoles.
 */
export function withTracing(template: CfnTemplate, tracing: boolean): CfnTemplate {
  const result = structuredClone(template)
  for (const [, fn] of functionsOf(result)) {
    if (tracing) fn.Properties.Tracing = 'Active'
    else delete fn.Properties.Tracing
    variablesOf(fn)[TRACING_VARIABLE] = String(tracing)
  }
  return result
}

/** Production tables get point-in-time recovery and deletion protection; the given tables expire items by TTL. */
export function withTables(template: CfnTemplate, stage: Stage, ttlTables: Record<string, string>): CfnTemplate {
  const result = structuredClone(template)
  if (stage === 'production') {
    for (const item of Object.values(result.Resources)) {
      if (item.Type !== 'AWS::DynamoDB::Table') continue
      item.Properties ??= {}
      item.Properties.PointInTimeRecoverySpecification = { PointInTimeRecoveryEnabled: true }
      item.Properties.DeletionProtectionEnabled = true
    }
  }
  for (const [table, attribute] of Object.entries(ttlTables)) {
    const id = `${toLogicalId(table)}Table`
    if (!result.Resources[id]) continue
    const properties = resource(result, id, 'AWS::DynamoDB::Table').Properties
    const current = properties.TimeToLiveSpecification
    if (isObject(current) && current.AttributeName !== attribute) {
      throw new TemplateError(`@tables ${table} already expires items by "${String(current.AttributeName)}"; this plugin needs "${attribute}"`)
    }
    properties.TimeToLiveSpecification = { AttributeName: attribute, Enabled: true }
  }
  return result
}
