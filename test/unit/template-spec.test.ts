import test from 'tape'
import { buildTemplate } from '../../scripts/template.ts'
import { queueLogicalIds } from 'arc-plugin-sqs-queues/names'
import type { CfnTemplate, CfnValue } from 'arc-plugin-sqs-queues/template'
import { cloudFormationSpec } from '../helpers/cloudformation-spec.ts'
import { appWith, SKIP_BUILD } from '../helpers/template-fixture.ts'

/**
 * The deployable templates against AWS's own resource specification
 * (@aws-cdk/aws-service-spec), not only against this project's expectations:
 * a property CloudFormation does not know, or a value of the wrong shape,
 * fails here instead of in a deploy. Each stage, and a stage with every
 * optional part turned on (email, an SSM webhook URL, alarm email, the
 * dashboard off and on), so that resources only some stages have are read too.
 */
const spec = await cloudFormationSpec()
const ids = queueLogicalIds('notifications')
const STAGE_ENV = {
  AUTH_ISSUER: 'https://issuer.example.com/',
  AUTH_AUDIENCE: 'api',
  NOTIFY_EMAIL_FROM: 'Tasks <tasks@example.com>',
  NOTIFY_EMAIL_TO: 'ops@example.com',
  NOTIFY_WEBHOOK_URL_PARAMETER: '/secrets/queue-leveling/production/webhook-url',
}

const build = (options: Parameters<typeof buildTemplate>[0]): Promise<CfnTemplate> => buildTemplate({ ...SKIP_BUILD, ...options })
const [staging, production, everything, undashboarded] = await Promise.all([
  build({ stage: 'staging' }),
  build({ stage: 'production', env: STAGE_ENV, offline: false }),
  build({ stage: 'production', env: STAGE_ENV, offline: false, cwd: await appWith({ pragma: 'alarmEmail "ops@example.com"\ntracing false' }, 'spec-fixture') }),
  build({ stage: 'staging', cwd: await appWith({ pragma: 'dashboard false' }, 'spec-fixture') }),
])

test('every resource type, property and attribute of each template exists in AWS\'s specification, with a value of its shape', (t) => {
  for (const [name, template] of [['staging', staging], ['production', production], ['alarm email, no tracing', everything], ['no dashboard', undashboarded]] as const) {
    const types = new Set(Object.values(template.Resources).map((item) => item.Type))
    t.ok(types.has('AWS::Serverless::Function') && types.has('AWS::SQS::Queue') && types.has('AWS::IAM::Role'), `${name}: the template is read (${types.size} resource types)`)
    t.deepEqual(spec.problems(template), [], `${name}: conforms`)
  }
  t.ok(Object.values(everything.Resources).some((item) => item.Type === 'AWS::SNS::Subscription'), 'the alarm topic and its subscription are among those checked')
  t.end()
})

/** A copy of `template` changed by `change`. */
function changed(template: CfnTemplate, change: (copy: CfnTemplate) => void): CfnTemplate {
  const copy = structuredClone(template)
  change(copy)
  return copy
}
const propsOf = (template: CfnTemplate, id: string): Record<string, CfnValue> => template.Resources[id]!.Properties!
function rename(properties: Record<string, CfnValue>, from: string, to: string): void {
  if (!(from in properties)) throw new Error(`no ${from} to rename`)
  properties[to] = properties[from]!
  delete properties[from]
}
const mappingOf = (template: CfnTemplate) => propsOf(template, ids.mapping)
/** The statement of the consumer-control role that names the notifications mapping's ARN. */
const mappingGrantOf = (template: CfnTemplate) =>
  (propsOf(template, `${queueLogicalIds('consumer-control').lambda}Role`).Policies as { PolicyDocument: { Statement: { Action: string[]; Resource: CfnValue }[] } }[])
    .flatMap((policy) => policy.PolicyDocument.Statement)
    .find((statement) => statement.Action.includes('lambda:UpdateEventSourceMapping'))!

test('a misspelled property, a value of the wrong shape, an unknown type or attribute: each fails, named', (t) => {
  const cases: [string, (copy: CfnTemplate) => void, RegExp][] = [
    ['a queue property', (copy) => rename(propsOf(copy, ids.queue), 'VisibilityTimeout', 'VisibilityTimout'), /NotificationsQueue \(AWS::SQS::Queue\): VisibilityTimout is not a property of AWS::SQS::Queue/],
    ['a SAM function property, checked as Lambda takes it', (copy) => rename(propsOf(copy, ids.lambda), 'Timeout', 'Timout'), /NotificationsQueueLambda \(AWS::Serverless::Function\)\.Timout: Timout is not a property of AWS::Serverless::Function \(nor of AWS::Lambda::Function/],
    ['a property nested in a SAM pass-through', (copy) => rename(propsOf(copy, ids.lambda).LoggingConfig as Record<string, CfnValue>, 'LogGroup', 'LogGroupName'), /LoggingConfig \(as AWS::Lambda::Function\.LoggingConfig\): LogGroupName is not a property of LoggingConfig/],
    ['an event source mapping property', (copy) => rename(mappingOf(copy), 'MaximumBatchingWindowInSeconds', 'MaximumBatchingWindowInSecond'), /NotificationsQueueLambdaNotificationsQueueEvent \(AWS::Lambda::EventSourceMapping\): MaximumBatchingWindowInSecond is not a property of AWS::Lambda::EventSourceMapping/],
    ['a number given as a string', (copy) => void (mappingOf(copy).BatchSize = '10'), /NotificationsQueueLambdaNotificationsQueueEvent \(AWS::Lambda::EventSourceMapping\)\.BatchSize: must be an integer, is string "10"/],
    [
      "the mapping's ARN read by an attribute it does not have",
      (copy) => void (mappingGrantOf(copy).Resource = { 'Fn::GetAtt': [ids.mapping, 'Arn'] }),
      /AWS::Lambda::EventSourceMapping has no attribute Arn \(Fn::GetAtt NotificationsQueueLambdaNotificationsQueueEvent\.Arn\)/,
    ],
    ['a boolean given as a string', (copy) => void (propsOf(copy, ids.queue).SqsManagedSseEnabled = 'true'), /SqsManagedSseEnabled: must be a boolean, is string "true"/],
    ['a list given as one value', (copy) => void (mappingOf(copy).FunctionResponseTypes = 'ReportBatchItemFailures'), /FunctionResponseTypes: must be a list/],
    ['an HttpApi property in the database\'s old SAM spelling', (copy) => rename(propsOf(copy, 'HTTP'), 'AccessLogSettings', 'AccessLogSetting'), /HTTP \(AWS::Serverless::HttpApi\)\.AccessLogSetting: AccessLogSetting is not a property this check knows SAM to take/],
    ['a stage setting SAM passes to AWS::ApiGatewayV2::Stage', (copy) => rename(propsOf(copy, 'HTTP').DefaultRouteSettings as Record<string, CfnValue>, 'ThrottlingBurstLimit', 'BurstLimit'), /DefaultRouteSettings \(as AWS::ApiGatewayV2::Stage\.DefaultRouteSettings\): BurstLimit is not a property of RouteSettings/],
    ['a resource type', (copy) => void (copy.Resources[ids.queue]!.Type = 'AWS::SQS::Queu'), /NotificationsQueue: AWS::SQS::Queu is not a CloudFormation resource type/],
    ['a required property left out', (copy) => void delete propsOf(copy, 'TasksTable').KeySchema, /TasksTable \(AWS::DynamoDB::Table\): lacks KeySchema, which AWS::DynamoDB::Table requires/],
    [
      'an attribute GetAtt reads',
      (copy) => void (propsOf(copy, 'NotificationsQueueOldestMessageAlarm').Dimensions = [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [ids.queue, 'Name'] } }]),
      /Dimensions\[0\]\.Value: AWS::SQS::Queue has no attribute Name \(Fn::GetAtt NotificationsQueue\.Name\)/,
    ],
    ['a resource attribute', (copy) => void ((copy.Resources[ids.queue] as unknown as Record<string, unknown>).DeletionPolicies = 'Retain'), /NotificationsQueue: DeletionPolicies is not a resource attribute/],
  ]
  for (const [what, change, expected] of cases) {
    const problems = spec.problems(changed(production, change))
    t.equal(problems.length, 1, `${what}: one problem`)
    t.match(problems.join('\n'), expected, `${what}: ${problems[0] ?? 'none'}`)
  }
  t.end()
})
