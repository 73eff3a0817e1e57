import test from 'tape'
import type { APIGatewayProxyEventV2, Context } from 'aws-lambda'
import { buildTemplate, templateArgs, type BuildOptions } from '../../scripts/template.ts'
import { handler as catchAll } from '../../src/http/any-catchall/index.ts'
import { corsHeaders } from '../../src/lib/http/response.ts'
import { OWNER_INDEX, PENDING_INDEX } from '../../src/lib/adapters/task-item.ts'
import { FUNCTION_ACCESS } from '../../src/plugins/queue-leveling/access.ts'
import { withLogGroups } from '../../src/plugins/queue-leveling/cloudformation.ts'
import { DEPLOY_DEFAULTS } from '../../src/plugins/queue-leveling/deploy-settings.ts'
import { ACCESS_LOG_FORMAT, CATCH_ALL_PATH, CORS_RULES, JWT_AUTHORIZER } from '../../src/plugins/queue-leveling/http-api.ts'
import { roleLogicalId, SHARED_ROLE, withFunctionRoles } from '../../src/plugins/queue-leveling/roles.ts'
import { PLACEHOLDER_AUDIENCE, PLACEHOLDER_ISSUER } from '../../src/plugins/queue-leveling/stage-settings.ts'
import { queuePolicyLogicalId, SQS_ACTIONS } from 'arc-plugin-sqs-queues/cloudformation'
import { queueLogicalIds } from 'arc-plugin-sqs-queues/names'
import { isObject, referencesIn, type CfnTemplate, type CfnValue } from 'arc-plugin-sqs-queues/template'
import { appWith, problemOf, SKIP_BUILD } from '../helpers/template-fixture.ts'

/**
 * The deployed stage's security, read from the template built offline: one
 * role per function with exactly what it uses ("this function cannot do X"),
 * queues refusing plain HTTP and encrypted, the HTTP API's JWT authorizer,
 * CORS and access logs, the webhook secret's parameter, and what a deploy
 * refuses. Builds skip the TypeScript compile, which leaves the template as it is.
 */
const ids = queueLogicalIds('notifications')
const control = queueLogicalIds('consumer-control')
const FN = {
  list: 'GetTasksHTTPLambda',
  read: 'GetTasksTaskIdHTTPLambda',
  deliveries: 'GetTasksTaskIdNotificationsHTTPLambda',
  create: 'PostTasksHTTPLambda',
  replace: 'PutTasksTaskIdHTTPLambda',
  remove: 'DeleteTasksTaskIdHTTPLambda',
  catchAll: 'AnyCatchallHTTPLambda',
  consumer: ids.lambda,
  relay: 'RelayOutboxScheduleLambda',
  control: control.lambda,
} as const
const ALL = Object.values(FN)
const ISSUER = 'https://issuer.example.com/tenant'
const DEPLOY_ENV = { AUTH_ISSUER: ISSUER, AUTH_AUDIENCE: 'api-one, api-two' }
const SECRET_NAME = (stage: string) => `/secrets/queue-leveling/${stage}/webhook-signing-secret`
const URL_NAME = '/secrets/queue-leveling/staging/webhook-url'
/** A stage that sends email (a display name on the sender) and takes a webhook URL with credentials from SSM. */
const CHANNEL_ENV = { NOTIFY_EMAIL_FROM: 'Task bot <tasks@mail.example.com>', NOTIFY_EMAIL_TO: 'ops@example.org, Lead <lead@mail.example.com>', NOTIFY_WEBHOOK_URL_PARAMETER: URL_NAME }

const build = (options: BuildOptions = {}): Promise<CfnTemplate> => buildTemplate({ stage: 'staging', ...SKIP_BUILD, ...options })
const refusalOf = (env: Record<string, string>, offline = false): Promise<string> => problemOf({ env, offline, ...SKIP_BUILD })

/** Console warnings while `run` runs: what an offline build tells its user. */
async function warningsOf<T>(run: () => Promise<T>): Promise<{ result: T; warnings: string[] }> {
  const warnings: string[] = []
  const original = console.warn
  console.warn = (...args: unknown[]) => void warnings.push(args.join(' '))
  try {
    return { result: await run(), warnings }
  } finally {
    console.warn = original
  }
}

const offline = await warningsOf(() => build())
const staging = offline.result
const deployed = await build({ env: { ...DEPLOY_ENV, ...CHANNEL_ENV, CORS_ALLOW_ORIGIN: 'https://app.example.com', AUTH_SCOPE_WRITE: '' }, offline: false })
const production = await build({ stage: 'production', env: DEPLOY_ENV, offline: false })

type Statement = { Effect: string; Action: string | string[]; Resource: CfnValue; Principal?: CfnValue; Condition?: CfnValue }
const props = (template: CfnTemplate, id: string): Record<string, CfnValue> => {
  const found = template.Resources[id]?.Properties
  if (!found) throw new Error(`no resource ${id} with properties`)
  return found
}
const variables = (template: CfnTemplate, id: string): Record<string, CfnValue> => (props(template, id).Environment as { Variables: Record<string, CfnValue> }).Variables
const actionsOf = (statement: Statement): string[] => [statement.Action].flat()

/** The statements of a role's inline policies. */
function roleStatements(template: CfnTemplate, roleId: string): Statement[] {
  const policies = props(template, roleId).Policies as { PolicyDocument: { Statement: Statement[] } }[]
  return policies.flatMap((policy) => policy.PolicyDocument.Statement)
}

/** A resource as a short readable name: `TasksTable` (its Arn), `Mapping.EventSourceMappingArn`, `${TasksTable.Arn}/index/byOwner`, `ssm:parameter/${AWS::StackName}`. */
function describe(resource: CfnValue): string {
  if (isObject(resource) && Array.isArray(resource['Fn::GetAtt'])) {
    const [id, attribute] = resource['Fn::GetAtt'].map(String)
    return attribute === 'Arn' ? id! : `${id}.${attribute}`
  }
  if (isObject(resource) && typeof resource['Fn::Sub'] === 'string') return resource['Fn::Sub'].replace('arn:${AWS::Partition}:', '').replace(':${AWS::Region}:${AWS::AccountId}:', ':')
  return JSON.stringify(resource)
}

/** Everything a function may do: `action resource`, sorted. */
function grantsOf(template: CfnTemplate, fn: string): string[] {
  const role = props(template, fn).Role as { 'Fn::GetAtt': [string, string] }
  return roleStatements(template, role['Fn::GetAtt'][0])
    .filter((statement) => statement.Effect === 'Allow')
    .flatMap((statement) => actionsOf(statement).flatMap((action) => [statement.Resource].flat().map((resource) => `${action} ${describe(resource)}`)))
    .sort()
}
const can = (template: CfnTemplate, fn: string, action: string): boolean => grantsOf(template, fn).some((grant) => grant.startsWith(`${action} `))

/** Every statement of every role and policy resource in the template. */
function allStatements(template: CfnTemplate): Statement[] {
  return Object.values(template.Resources).flatMap((item) => {
    const properties = item.Properties ?? {}
    const documents = [properties.PolicyDocument, ...(Array.isArray(properties.Policies) ? properties.Policies.map((policy) => (policy as { PolicyDocument: CfnValue }).PolicyDocument) : [])]
    return documents.flatMap((document) => (isObject(document) && Array.isArray(document.Statement) ? (document.Statement as unknown as Statement[]) : []))
  })
}

/** The indexes a table of the template declares. */
const indexesOf = (template: CfnTemplate, table: string): string[] =>
  ((props(template, table).GlobalSecondaryIndexes as { IndexName: string }[] | undefined) ?? []).map((index) => index.IndexName)
const LOGS = (fn: string) => [`logs:CreateLogStream ${fn}LogGroup`, `logs:PutLogEvents ${fn}LogGroup`]
/** Sending its trace segments (tracing is on by default); X-Ray's write actions take no other resource than `*`. */
const TRACES = ['xray:PutTelemetryRecords "*"', 'xray:PutTraceSegments "*"']
const DISCOVERY = 'ssm:GetParametersByPath ssm:parameter/${AWS::StackName}'
const IDEMPOTENCY = ['GetItem', 'PutItem', 'UpdateItem', 'DeleteItem'].map((action) => `dynamodb:${action} IdempotencyTable`)
const SEND = 'sqs:SendMessage NotificationsQueue'
const CONSUME = (queue: string) => ['ReceiveMessage', 'DeleteMessage', 'ChangeMessageVisibility', 'GetQueueAttributes'].map((action) => `sqs:${action} ${queue}`)
/** Adaptive leveling's state: read, put (transitions) and updated (streaks, rate slots); never deleted, queried or scanned. */
const BREAKERS = ['GetItem', 'PutItem', 'UpdateItem'].map((action) => `dynamodb:${action} BreakersTable`)

test('IAM: each function has its own role, with exactly what it uses', (t) => {
  const expected: Record<string, string[]> = {
    [FN.list]: [DISCOVERY, `dynamodb:Query \${TasksTable.Arn}/index/${OWNER_INDEX}`],
    [FN.read]: [DISCOVERY, 'dynamodb:GetItem TasksTable'],
    [FN.deliveries]: [DISCOVERY, 'dynamodb:Query DeliveriesTable'],
    [FN.create]: [DISCOVERY, ...['PutItem', 'UpdateItem'].map((action) => `dynamodb:${action} TasksTable`), ...IDEMPOTENCY, SEND],
    [FN.replace]: [DISCOVERY, ...['GetItem', 'PutItem', 'UpdateItem'].map((action) => `dynamodb:${action} TasksTable`), SEND],
    [FN.remove]: [DISCOVERY, ...['GetItem', 'PutItem', 'UpdateItem', 'DeleteItem'].map((action) => `dynamodb:${action} TasksTable`), SEND],
    [FN.catchAll]: [],
    [FN.relay]: [
      DISCOVERY,
      ...['GetItem', 'UpdateItem', 'DeleteItem'].map((action) => `dynamodb:${action} TasksTable`),
      `dynamodb:Query \${TasksTable.Arn}/index/${PENDING_INDEX}`,
      SEND,
    ],
    [FN.consumer]: [
      DISCOVERY,
      'dynamodb:PutItem DeliveriesTable',
      'dynamodb:Query DeliveriesTable',
      // Query on the table reaches every item: its indexes (whichever app.arc declares) add nothing.
      ...indexesOf(staging, 'DeliveriesTable').map((index) => `dynamodb:Query \${DeliveriesTable.Arn}/index/${index}`),
      ...IDEMPOTENCY,
      ...BREAKERS,
      ...CONSUME('NotificationsQueue'),
      // A record that must wait goes back to its own queue as a fresh copy; an opening or closing tells the control queue.
      SEND,
      'sqs:SendMessage ConsumerControlQueue',
      // No NOTIFY_EMAIL_FROM on this stage: no SES at all.
      `ssm:GetParameter ssm:parameter${SECRET_NAME('staging')}`,
    ],
    [FN.control]: [
      DISCOVERY,
      ...BREAKERS,
      ...CONSUME('ConsumerControlQueue'),
      // A probe timer that comes early sends itself again.
      'sqs:SendMessage ConsumerControlQueue',
      // The notifications consumer's mapping, by its ARN: nothing else of Lambda.
      `lambda:GetEventSourceMapping ${ids.mapping}.EventSourceMappingArn`,
      `lambda:UpdateEventSourceMapping ${ids.mapping}.EventSourceMappingArn`,
    ],
  }
  const functions = Object.entries(staging.Resources).filter(([, item]) => item.Type === 'AWS::Serverless::Function')
  t.deepEqual(functions.map(([id]) => id).sort(), [...ALL].sort(), 'the ten functions, each listed here')
  for (const fn of ALL) {
    const role = roleLogicalId(fn)
    t.equal(staging.Resources[role]?.Type, 'AWS::IAM::Role', `${fn} has its role ${role}`)
    t.deepEqual(props(staging, fn).Role, { 'Fn::GetAtt': [role, 'Arn'] }, `${fn} runs as it`)
    t.deepEqual(variables(staging, fn).ARC_ROLE, { Ref: role }, `${fn} ARC_ROLE names it`)
    t.deepEqual(
      (props(staging, role).AssumeRolePolicyDocument as { Statement: Statement[] }).Statement,
      [{ Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' }, Action: 'sts:AssumeRole' }],
      `${role}: Lambda alone assumes it`,
    )
    t.deepEqual(grantsOf(staging, fn), [...LOGS(fn), ...TRACES, ...expected[fn]!].sort(), `${fn} may do exactly this`)
  }
  t.end()
})

test('IAM: what each function cannot do', (t) => {
  const writes = ['dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem', 'sqs:SendMessage']
  for (const fn of [FN.list, FN.read, FN.deliveries]) {
    for (const action of writes) t.notOk(can(staging, fn, action), `read route ${fn} cannot ${action}`)
  }
  for (const fn of ALL) t.notOk(can(staging, fn, 'dynamodb:Scan'), `${fn} cannot scan a table`)
  const consumerOnly = [...CONSUME('NotificationsQueue'), 'ses:SendEmail', 'ssm:GetParameter']
  for (const fn of ALL.filter((fn) => fn !== FN.consumer)) {
    // An action alone (any resource), or an action on one resource.
    for (const grant of consumerOnly) t.notOk(grantsOf(staging, fn).some((held) => held === grant || held.startsWith(`${grant} `)), `${fn} cannot ${grant}: the consumer alone`)
  }
  for (const fn of [FN.create, FN.replace, FN.remove, FN.relay]) t.ok(can(staging, fn, 'sqs:SendMessage'), `${fn} sends`)
  // A create's and a replace's task is there when their outbox settles (an update); only a tombstone's settling deletes.
  for (const template of [staging, production, deployed]) {
    t.notOk(grantsOf(template, FN.create).includes('dynamodb:DeleteItem TasksTable'), 'POST /tasks cannot delete a task')
    t.notOk(grantsOf(template, FN.replace).includes('dynamodb:DeleteItem TasksTable'), 'PUT /tasks/{id} cannot delete a task')
  }
  for (const fn of [FN.remove, FN.relay]) t.ok(grantsOf(staging, fn).includes('dynamodb:DeleteItem TasksTable'), `${fn} deletes a settled tombstone`)
  t.deepEqual(
    grantsOf(staging, FN.consumer).filter((grant) => grant.startsWith('sqs:SendMessage ')),
    [SEND, 'sqs:SendMessage ConsumerControlQueue'].sort(),
    'the consumer sends only its own copies and control messages',
  )
  for (const fn of ALL.filter((fn) => fn !== FN.consumer && fn !== FN.control)) {
    t.notOk(grantsOf(staging, fn).some((grant) => grant.includes('ConsumerControlQueue')), `${fn} cannot touch the control queue`)
    t.notOk(grantsOf(staging, fn).some((grant) => grant.includes('BreakersTable')), `${fn} cannot touch the breakers`)
  }
  t.deepEqual(grantsOf(staging, FN.catchAll), [...LOGS(FN.catchAll), ...TRACES].sort(), 'the catch-all only writes its log and its traces')
  t.notOk(can(staging, FN.list, 'dynamodb:GetItem'), 'listing reads the owner index only')
  t.notOk(grantsOf(staging, FN.list).some((grant) => grant.endsWith('TasksTable')), 'listing cannot read the table itself')
  for (const fn of ALL) {
    t.notOk(grantsOf(staging, fn).some((grant) => grant.includes('DeadLetterQueue')), `${fn} cannot touch the DLQ (operators move messages back)`)
    t.notOk(grantsOf(staging, fn).some((grant) => grant.startsWith('kms:')), `${fn} has no KMS grant (SSE-SQS, and the aws/ssm key)`)
    t.notOk(grantsOf(staging, fn).some((grant) => grant.startsWith('s3:')), `${fn} cannot use the static bucket`)
    const logs = grantsOf(staging, fn).filter((grant) => grant.startsWith('logs:'))
    t.ok(logs.every((grant) => grant.endsWith(` ${fn}LogGroup`)), `${fn} writes only its own log group, and creates none`)
  }
  t.end()
})

test("IAM: the control function alone may switch a mapping, and only the notifications consumer's, named by its ARN", (t) => {
  for (const [name, template] of [['staging', staging], ['production', production], ['deployed', deployed]] as const) {
    // Of the functions' roles (EventBridge Scheduler's own role invokes the relay: lambda:InvokeFunction on that function).
    const roles = ALL.map((fn) => (props(template, fn).Role as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0])
    const lambda = roles.flatMap((role) => roleStatements(template, role)).filter((statement) => actionsOf(statement).some((action) => action.startsWith('lambda:')))
    t.equal(lambda.length, 1, `${name}: one statement of all the functions' roles grants anything of Lambda`)
    t.deepEqual(lambda[0]?.Action, ['lambda:GetEventSourceMapping', 'lambda:UpdateEventSourceMapping'], `${name}: read and switch, no Create, Delete or List, no lambda:*`)
    t.deepEqual(lambda[0]?.Resource, { 'Fn::GetAtt': [ids.mapping, 'EventSourceMappingArn'] }, `${name}: on that mapping's ARN, one resource`)
    t.equal(lambda[0]?.Condition, undefined, `${name}: the resource alone bounds it`)
    for (const fn of ALL.filter((fn) => fn !== FN.control)) t.notOk(grantsOf(template, fn).some((grant) => grant.startsWith('lambda:')), `${name}: ${fn} cannot call Lambda's API`)
    t.ok(grantsOf(template, FN.control).includes(`lambda:UpdateEventSourceMapping ${ids.mapping}.EventSourceMappingArn`), `${name}: the control function holds it`)
  }
  // The ARN is the notifications consumer's own mapping from its own queue, and the control function gets its UUID.
  const mapping = props(staging, ids.mapping)
  t.equal(staging.Resources[ids.mapping]?.Type, 'AWS::Lambda::EventSourceMapping')
  t.deepEqual([mapping.FunctionName, mapping.EventSourceArn], [{ Ref: FN.consumer }, { 'Fn::GetAtt': [ids.queue, 'Arn'] }], 'the mapping from the notifications queue to its consumer')
  t.deepEqual(variables(staging, FN.control).NOTIFICATIONS_EVENT_SOURCE_MAPPING, { Ref: ids.mapping }, 'the control function names it by UUID (Ref), as the Lambda API takes it')
  t.end()
})

/** A function's Allow statements that name `resource` (a logical id, by GetAtt) among their resources. */
function statementsOn(template: CfnTemplate, fn: string, resource: string): Statement[] {
  const role = (props(template, fn).Role as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0]
  return roleStatements(template, role).filter((statement) => statement.Effect === 'Allow' && [statement.Resource].flat().some((item) => describe(item) === resource))
}

test('IAM: on the idempotency table each function reaches only the keys it writes, <its function name>#...', (t) => {
  const users = [FN.create, FN.consumer]
  for (const [name, template] of [['staging', staging], ['production', production], ['deployed', deployed]] as const) {
    for (const fn of ALL) {
      const statements = statementsOn(template, fn, 'IdempotencyTable')
      if (!users.includes(fn as (typeof users)[number])) {
        t.deepEqual(statements, [], `${name}: ${fn} cannot touch the idempotency table`)
        continue
      }
      t.ok(statements.length > 0, `${name}: ${fn} uses it`)
      // Powertools writes <AWS_LAMBDA_FUNCTION_NAME>#<hash>; Lambda's name is the template's FunctionName.
      const functionName = props(template, fn).FunctionName as { 'Fn::Sub': string }
      t.equal(functionName['Fn::Sub'], `\${AWS::StackName}-${fn}`, `${name}: ${fn} is named by the template, not by CloudFormation`)
      for (const statement of statements) {
        t.deepEqual(
          statement.Condition,
          { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [{ 'Fn::Sub': `${functionName['Fn::Sub']}#*` }] } },
          `${name}: ${fn}: ${actionsOf(statement).join(', ')} only on keys starting with its own name and #`,
        )
        t.ok(actionsOf(statement).every((action) => ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem'].includes(action)), `${name}: ${fn}: item actions only, each naming one key (no Query or Scan that a LeadingKeys condition would not bound)`)
      }
    }
  }
  t.end()
})

test('IAM: email only from the configured sender (ses:FromAddress), on its identities; a stage with no email gets no SES', (t) => {
  for (const [name, template] of [['staging', staging], ['production', production]] as const) {
    for (const fn of ALL) t.notOk(can(template, fn, 'ses:SendEmail'), `${name} (no NOTIFY_EMAIL_FROM): ${fn} cannot send email`)
  }
  const send = allStatements(deployed).filter((statement) => actionsOf(statement).some((action) => action.startsWith('ses:')))
  t.equal(send.length, 1, 'one SES statement in the whole stack')
  t.deepEqual(send[0]?.Action, ['ses:SendEmail'], 'SendEmail alone (no SendRawEmail, no ses:*)')
  t.deepEqual(send[0]?.Condition, { StringEquals: { 'ses:FromAddress': 'tasks@mail.example.com' } }, 'the address part of "Task bot <tasks@mail.example.com>"')
  t.deepEqual(
    [send[0]?.Resource ?? []].flat().map(describe).sort(),
    ['ses:identity/example.org', 'ses:identity/lead@mail.example.com', 'ses:identity/mail.example.com', 'ses:identity/ops@example.org', 'ses:identity/tasks@mail.example.com'],
    "the sender's address and domain identities (whichever is verified), and the recipients' (the SES sandbox checks those too); no identity/*",
  )
  t.ok(statementsOn(deployed, FN.consumer, 'ses:identity/tasks@mail.example.com').length === 1, 'the consumer holds it')
  for (const fn of ALL.filter((fn) => fn !== FN.consumer)) t.notOk(can(deployed, fn, 'ses:SendEmail'), `${fn} cannot send email, even with email configured`)
  t.end()
})

test('webhook URL with credentials: an SSM parameter that the consumer alone may read', (t) => {
  t.deepEqual(
    grantsOf(deployed, FN.consumer).filter((grant) => grant.startsWith('ssm:GetParameter ')),
    [`ssm:GetParameter ssm:parameter${SECRET_NAME('staging')}`, `ssm:GetParameter ssm:parameter${URL_NAME}`],
    'the consumer reads the signing secret and the URL parameter NOTIFY_WEBHOOK_URL_PARAMETER names, nothing else',
  )
  for (const fn of ALL.filter((fn) => fn !== FN.consumer)) {
    t.notOk(grantsOf(deployed, fn).some((grant) => grant.startsWith('ssm:GetParameter ')), `${fn} cannot read it`)
  }
  t.equal(variables(deployed, FN.consumer).NOTIFY_WEBHOOK_URL_PARAMETER, URL_NAME, 'the consumer gets its name (the name only)')
  t.equal(variables(deployed, FN.consumer).NOTIFY_WEBHOOK_URL, undefined, 'and no URL')
  t.notOk(JSON.stringify(staging).includes('webhook-url'), 'a stage without it grants nothing for it')
  t.end()
})

test("IAM: no wildcard action, nothing on * but X-Ray's two write actions, no dynamodb:*, and Architect's shared role is gone", (t) => {
  for (const [name, template] of [['staging', staging], ['production', production], ['deployed', deployed]] as const) {
    const allows = allStatements(template).filter((statement) => statement.Effect === 'Allow')
    t.ok(allows.length > 20, `${name}: the statements are read`)
    const wildcard = allows.filter((statement) => actionsOf(statement).some((action) => action.includes('*')))
    t.deepEqual(wildcard, [], `${name}: no Allow of service:* (or any action wildcard)`)
    // PutTraceSegments and PutTelemetryRecords have no resource type: IAM takes them on * alone. Nothing else may be granted on *.
    const onStar = allows.filter((statement) => [statement.Resource].flat().includes('*'))
    t.ok(onStar.length > 0, `${name}: the X-Ray grants are read`)
    t.deepEqual(
      onStar.filter((statement) => JSON.stringify(actionsOf(statement)) !== JSON.stringify(['xray:PutTraceSegments', 'xray:PutTelemetryRecords'])),
      [],
      `${name}: no Allow on * except xray:PutTraceSegments and xray:PutTelemetryRecords, together and alone`,
    )
    t.notOk(JSON.stringify(template).includes('dynamodb:*'), `${name}: dynamodb:* nowhere`)
    t.equal(template.Resources[SHARED_ROLE], undefined, `${name}: no shared Role`)
    t.equal(template.Resources.ParameterStorePolicy, undefined, `${name}: no policy on the shared role`)
    const ids = new Set([...Object.keys(template.Resources), ...Object.keys((template.Parameters as Record<string, unknown> | undefined) ?? {})])
    const dangling = [...Object.entries(template.Resources), ...Object.entries(template.Outputs ?? {})].flatMap(([id, item]) =>
      referencesIn(item).filter((target) => !ids.has(target)).map((target) => `${id} -> ${target}`),
    )
    t.deepEqual(dangling, [], `${name}: every Ref, GetAtt, Sub and DependsOn names a resource of the template`)
  }
  t.end()
})

test('IAM: a function with no declared access, or an index app.arc lacks, stops the build', async (t) => {
  const queuesOnly = await build({ skipPlugins: [...SKIP_BUILD.skipPlugins!, 'queue-leveling'] })
  const withGroups = withLogGroups(queuesOnly, DEPLOY_DEFAULTS, 'QueueLevelingStaging')
  t.throws(() => withFunctionRoles(withGroups, { access: {}, webhookSecretParameter: '/x' }), /No permissions are declared for @http get \/tasks\/:taskId\/notifications/)
  const unknownIndex = { ...FUNCTION_ACCESS, '@http get /tasks': { tables: [{ table: 'tasks', indexes: ['byNobody'] }] } }
  t.throws(() => withFunctionRoles(withGroups, { access: unknownIndex, webhookSecretParameter: '/x' }), /@tables tasks has no index byNobody/)
  // The generic plugin alone keeps Architect's shared role valid, narrowed to these queues.
  const sqs = roleStatements(queuesOnly, SHARED_ROLE).filter((statement) => actionsOf(statement).some((action) => action.startsWith('sqs:')))
  t.deepEqual(sqs, [{ Effect: 'Allow', Action: SQS_ACTIONS, Resource: [ids.queue, ids.dlq, control.queue, control.dlq].map((id) => ({ 'Fn::GetAtt': [id, 'Arn'] })) }])
})

test('queues: encrypted at rest (SSE-SQS) and refusing every request without TLS', (t) => {
  for (const id of [ids.queue, ids.dlq]) {
    t.equal(props(staging, id).SqsManagedSseEnabled, true, `${id} SqsManagedSseEnabled`)
    const policy = queuePolicyLogicalId(id)
    t.equal(staging.Resources[policy]?.Type, 'AWS::SQS::QueuePolicy', `${policy} is a queue policy`)
    t.deepEqual(props(staging, policy).Queues, [{ Ref: id }], `${policy} applies to ${id}`)
    t.deepEqual(
      (props(staging, policy).PolicyDocument as { Statement: Statement[] }).Statement,
      [{ Sid: 'DenyWithoutTls', Effect: 'Deny', Principal: '*', Action: 'sqs:*', Resource: { 'Fn::GetAtt': [id, 'Arn'] }, Condition: { Bool: { 'aws:SecureTransport': 'false' } } }],
      `${policy} denies anyone any SQS action over plain HTTP`,
    )
  }
  t.end()
})

test('HTTP API: a JWT authorizer with the stage issuer and audiences on every route but the catch-all', (t) => {
  const definition = props(deployed, 'HTTP').DefinitionBody as { components: { securitySchemes: Record<string, unknown> }; paths: Record<string, Record<string, Record<string, unknown>>> }
  t.deepEqual(definition.components.securitySchemes[JWT_AUTHORIZER], {
    type: 'oauth2',
    'x-amazon-apigateway-authorizer': {
      type: 'jwt',
      jwtConfiguration: { issuer: ISSUER, audience: ['api-one', 'api-two'] },
      identitySource: '$request.header.Authorization',
    },
  })
  const security = Object.fromEntries(
    Object.entries(definition.paths).flatMap(([path, item]) => Object.entries(item).map(([method, operation]) => [`${method} ${path}`, operation.security])),
  )
  t.deepEqual(security, {
    'get /tasks': [{ [JWT_AUTHORIZER]: ['tasks:read'] }],
    // AUTH_SCOPE_WRITE is empty on this stage: no scope needed, as in the Lambdas.
    'post /tasks': [{ [JWT_AUTHORIZER]: [] }],
    'get /tasks/{taskId}': [{ [JWT_AUTHORIZER]: ['tasks:read'] }],
    'put /tasks/{taskId}': [{ [JWT_AUTHORIZER]: [] }],
    'delete /tasks/{taskId}': [{ [JWT_AUTHORIZER]: [] }],
    'get /tasks/{taskId}/notifications': [{ [JWT_AUTHORIZER]: ['tasks:read'] }],
    [`x-amazon-apigateway-any-method ${CATCH_ALL_PATH}`]: undefined,
    'get /_static/{proxy+}': undefined,
  }, 'every Lambda route has it, with its scope; the catch-all (preflight, JSON 404) and the public static proxy have none')
  const stagingPaths = (props(staging, 'HTTP').DefinitionBody as typeof definition).paths
  t.deepEqual(stagingPaths['/tasks']?.post?.security, [{ [JWT_AUTHORIZER]: ['tasks:write'] }], 'the default write scope, as the Lambdas default it')
  t.end()
})

test('HTTP API: offline, the authorizer holds marked placeholders and the build says so; flags fill them', async (t) => {
  const scheme = (template: CfnTemplate) =>
    ((props(template, 'HTTP').DefinitionBody as { components: { securitySchemes: Record<string, { 'x-amazon-apigateway-authorizer': { jwtConfiguration: unknown } }> } }).components
      .securitySchemes[JWT_AUTHORIZER]!['x-amazon-apigateway-authorizer'].jwtConfiguration)
  t.deepEqual(scheme(staging), { issuer: PLACEHOLDER_ISSUER, audience: [PLACEHOLDER_AUDIENCE] })
  t.match(PLACEHOLDER_ISSUER + PLACEHOLDER_AUDIENCE, /REPLACE-ME.*REPLACE-ME/, 'marked')
  t.equal(offline.warnings.length, 1, 'one warning')
  t.match(offline.warnings[0] ?? '', /staging has no AUTH_ISSUER or AUTH_AUDIENCE[\s\S]*placeholders[\s\S]*--issuer <url> --audience <audience>[\s\S]*npx arc env -e staging -a AUTH_ISSUER/)
  const args = templateArgs(['--stage', 'production', '--issuer', ISSUER, '--audience', 'api-one'])
  t.deepEqual([args.stage, args.env], ['production', { AUTH_ISSUER: ISSUER, AUTH_AUDIENCE: 'api-one' }], 'npm run template -- --issuer --audience stand in for the stage settings')
  const flagged = await warningsOf(() => build({ stage: args.stage, env: args.env }))
  t.deepEqual(scheme(flagged.result), { issuer: ISSUER, audience: ['api-one'] }, 'and reach the authorizer')
  t.deepEqual(flagged.warnings, [], 'with no warning')
  t.equal(variables(flagged.result, FN.read).AUTH_ISSUER, ISSUER, 'as arc env would, every function gets them')
})

test("HTTP API: CORS says what the app says, with the stage's allowed origin", async (t) => {
  t.deepEqual(props(deployed, 'HTTP').CorsConfiguration, { AllowOrigins: ['https://app.example.com'], ...CORS_RULES })
  t.deepEqual(props(staging, 'HTTP').CorsConfiguration, { AllowOrigins: ['*'], ...CORS_RULES }, 'CORS_ALLOW_ORIGIN defaults to *')
  // The app's own answers: the catch-all's preflight and every response's exposed headers.
  const preflight = await catchAll({ requestContext: { http: { method: 'OPTIONS', path: '/tasks' }, requestId: 'r' }, headers: {}, rawPath: '/tasks' } as unknown as APIGatewayProxyEventV2, {} as Context)
  const split = (value: string | undefined) => (value ?? '').split(',').map((entry) => entry.trim())
  t.deepEqual(split(preflight.headers['Access-Control-Allow-Methods']), CORS_RULES.AllowMethods, 'methods')
  t.deepEqual(split(preflight.headers['Access-Control-Allow-Headers']), CORS_RULES.AllowHeaders, 'request headers')
  t.equal(Number(preflight.headers['Access-Control-Max-Age']), CORS_RULES.MaxAge, 'max age')
  t.deepEqual(split(corsHeaders['Access-Control-Expose-Headers']), CORS_RULES.ExposeHeaders, 'exposed headers, WWW-Authenticate included')
})

test('HTTP API: JSON access logs with request id and caller sub, never a token, in a log group the stack owns', async (t) => {
  const group = 'HTTPAccessLogGroup'
  t.equal(staging.Resources[group]?.Type, 'AWS::Logs::LogGroup')
  t.deepEqual(props(staging, group), { LogGroupName: { 'Fn::Sub': '/aws/vendedlogs/${AWS::StackName}/HTTP-access' }, RetentionInDays: 30 }, 'kept logRetentionDays')
  const settings = props(staging, 'HTTP').AccessLogSettings as { DestinationArn: CfnValue; Format: string }
  t.deepEqual(settings.DestinationArn, { 'Fn::Sub': 'arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:${HTTPAccessLogGroup}' })
  t.equal(settings.Format, ACCESS_LOG_FORMAT)
  const fields = JSON.parse(settings.Format) as Record<string, string>
  for (const [key, value] of Object.entries({ requestId: '$context.requestId', sub: '$context.authorizer.claims.sub', routeKey: '$context.routeKey', status: '$context.status', responseLatency: '$context.responseLatency' })) {
    t.equal(fields[key], value, `${key}: ${value}`)
  }
  t.notOk(/authorization|header|token|identity\.user|querystring/i.test(settings.Format), 'no header, token or query string')
  t.ok(Object.values(fields).every((value) => /^\$context\.[a-zA-Z.]+$/.test(value)), 'one context variable per field')
  const shorter = await build({ cwd: await appWith({ pragma: 'logRetentionDays 14' }, 'security-fixture') })
  t.equal(props(shorter, group).RetentionInDays, 14, 'the same retention as the functions')
})

test('webhook secret: an SSM parameter outside Architect paths, named to the consumer alone', async (t) => {
  t.equal(variables(staging, FN.consumer).NOTIFY_WEBHOOK_SECRET_PARAMETER, SECRET_NAME('staging'))
  t.equal(variables(production, FN.consumer).NOTIFY_WEBHOOK_SECRET_PARAMETER, SECRET_NAME('production'), 'one per stage')
  t.deepEqual(
    grantsOf(production, FN.consumer).filter((grant) => grant.startsWith('ssm:GetParameter ')),
    [`ssm:GetParameter ssm:parameter${SECRET_NAME('production')}`],
    'the consumer reads that parameter only',
  )
  for (const fn of ALL.filter((fn) => fn !== FN.consumer)) t.equal(variables(staging, fn).NOTIFY_WEBHOOK_SECRET_PARAMETER, undefined, `${fn} does not know it`)
  t.notOk(JSON.stringify(staging).includes('SecureString'), 'the stack creates no parameter: the operator does')
  const custom = await build({ cwd: await appWith({ pragma: 'webhookSecretParameter "/acme/{stage}/hook-secret"' }, 'security-fixture') })
  t.equal(variables(custom, FN.consumer).NOTIFY_WEBHOOK_SECRET_PARAMETER, '/acme/staging/hook-secret', 'webhookSecretParameter, {stage} filled in')
  t.ok(grantsOf(custom, FN.consumer).includes('ssm:GetParameter ssm:parameter/acme/staging/hook-secret'), 'and the grant follows it')
  const refused = async (pragma: string) => problemOf({ cwd: await appWith({ pragma }, 'security-fixture'), ...SKIP_BUILD })
  t.match(await refused('webhookSecretParameter "/QueueLevelingStaging/secret"'), /under \/QueueLevelingStaging\/, which every function of the stack may read/)
  t.match(await refused('webhookSecretParameter "/queue-leveling/{stage}/webhook-signing-secret"'), /under \/queue-leveling\/, where npx arc env keeps its values[\s\S]*decrypted, into every function's environment/)
  t.match(await refused('webhookSecretParameter "/aws/secret"'), /webhookSecretParameter must not start with aws or ssm/)
  t.match(await refused('webhookSecretParameter "no-slash"'), /webhookSecretParameter must be an SSM parameter name/)
})

test('deploy refuses a stage without issuer and audience, with a plaintext secret, or with plain-http URLs', async (t) => {
  const cases: [Record<string, string>, RegExp][] = [
    [{}, /Refusing to deploy staging:[\s\S]*AUTH_ISSUER is not set for staging[\s\S]*npx arc env -e staging -a AUTH_ISSUER https:\/\/[\s\S]*AUTH_AUDIENCE is not set for staging[\s\S]*-a AUTH_AUDIENCE/],
    [{ AUTH_ISSUER: ISSUER }, /AUTH_AUDIENCE is not set for staging/],
    [
      { ...DEPLOY_ENV, NOTIFY_WEBHOOK_SECRET: 'hunter2' },
      /NOTIFY_WEBHOOK_SECRET is set for staging through npx arc env, which copies it in plaintext[\s\S]*npx arc env -e staging -r NOTIFY_WEBHOOK_SECRET[\s\S]*aws ssm put-parameter --name \/secrets\/queue-leveling\/staging\/webhook-signing-secret --type SecureString/,
    ],
    [{ ...DEPLOY_ENV, NOTIFY_WEBHOOK_SECRET_PARAMETER: '/mine' }, /NOTIFY_WEBHOOK_SECRET_PARAMETER is set for staging through npx arc env[\s\S]*-r NOTIFY_WEBHOOK_SECRET_PARAMETER[\s\S]*webhookSecretParameter/],
    [{ ...DEPLOY_ENV, AUTH_ISSUER: 'http://127.0.0.1:3335' }, /AUTH_ISSUER must be an https URL of another host on a deployed stage/],
    [{ ...DEPLOY_ENV, AUTH_JWKS_URL: 'http://localhost/jwks' }, /AUTH_JWKS_URL must be an https URL of another host on a deployed stage/],
    [{ ...DEPLOY_ENV, NOTIFY_WEBHOOK_URL: 'http://user:pass@127.0.0.1:4000/hook' }, /NOTIFY_WEBHOOK_URL must be an https URL of another host on a deployed stage/],
    [{ ...DEPLOY_ENV, AUTH_ISSUER: 'https://127.0.0.1/issuer' }, /AUTH_ISSUER must be an https URL of another host on a deployed stage \(a loopback host is never used on Lambda/],
    [{ ...DEPLOY_ENV, NOTIFY_WEBHOOK_URL: 'https://localhost:9001/hook' }, /NOTIFY_WEBHOOK_URL must be an https URL of another host on a deployed stage/],
    [
      { ...DEPLOY_ENV, NOTIFY_WEBHOOK_URL: 'https://user:pass@hooks.example.com/in' },
      /NOTIFY_WEBHOOK_URL for staging carries credentials[\s\S]*copies it in plaintext into every function[\s\S]*SSM SecureString that only the consumer reads: aws ssm put-parameter --name \/secrets\/queue-leveling\/staging\/webhook-url --type SecureString[\s\S]*npx arc env -e staging -r NOTIFY_WEBHOOK_URL and npx arc env -e staging -a NOTIFY_WEBHOOK_URL_PARAMETER \/secrets\/queue-leveling\/staging\/webhook-url/,
    ],
    [{ ...DEPLOY_ENV, NOTIFY_WEBHOOK_URL: 'https://hooks.example.com/in?token=s3cr3t' }, /NOTIFY_WEBHOOK_URL for staging carries credentials \(a user or password, or a query string\)/],
    [{ ...DEPLOY_ENV, NOTIFY_WEBHOOK_URL: 'https://hooks.example.com/in', NOTIFY_WEBHOOK_URL_PARAMETER: URL_NAME }, /NOTIFY_WEBHOOK_URL: must not be set together with NOTIFY_WEBHOOK_URL_PARAMETER/],
    [{ ...DEPLOY_ENV, NOTIFY_WEBHOOK_URL_PARAMETER: '/queue-leveling/staging/WEBHOOK_URL' }, /NOTIFY_WEBHOOK_URL_PARAMETER for staging names a parameter under \/queue-leveling\/, where npx arc env keeps its values[\s\S]*-a NOTIFY_WEBHOOK_URL_PARAMETER \/secrets\/queue-leveling\/staging\/webhook-url/],
    [{ ...DEPLOY_ENV, NOTIFY_WEBHOOK_URL_PARAMETER: '/QueueLevelingStaging/hook' }, /NOTIFY_WEBHOOK_URL_PARAMETER for staging names a parameter under \/QueueLevelingStaging\/, which every function of the stack may read/],
  ]
  const problems = await Promise.all(cases.map(([env]) => refusalOf(env)))
  for (const [index, [env, expected]] of cases.entries()) {
    t.match(problems[index] ?? '', expected, JSON.stringify(Object.keys(env)))
    t.notOk(['hunter2', 'user:pass', 's3cr3t'].some((value) => (problems[index] ?? '').includes(value)), 'no value in the message')
  }
  t.equal(await refusalOf({ ...DEPLOY_ENV, NOTIFY_WEBHOOK_URL: 'https://hooks.example.com/in', AUTH_JWKS_URL: 'https://issuer.example.com/jwks' }), 'accepted', 'a stage with https URLs and both settings deploys')
  t.equal(await refusalOf({ ...DEPLOY_ENV, ...CHANNEL_ENV }), 'accepted', 'a URL with credentials through NOTIFY_WEBHOOK_URL_PARAMETER deploys')
  t.equal(await refusalOf({}, true), 'accepted', 'offline, the missing issuer and audience become placeholders')
  t.match(await refusalOf({ NOTIFY_WEBHOOK_SECRET: 'x' }, true), /NOTIFY_WEBHOOK_SECRET is set for staging/, 'offline still refuses a plaintext secret')
})
