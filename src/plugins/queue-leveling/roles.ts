/**
 * One IAM role per function, with what access.ts says it uses and nothing
 * else, in place of the role Architect shares between all functions (every
 * table with `dynamodb:*`, every queue, the static bucket...). Pure: returns a
 * changed copy.
 */
import { emailAddressOf } from '../../lib/config.ts'
import { mappingAccess, queueAccess, withMappingDependencies } from 'arc-plugin-sqs-queues/cloudformation'
import { toLogicalId } from 'arc-plugin-sqs-queues/names'
import { arnOf, functionsOf, isObject, policyDocument, ref, referencesIn, resource, TemplateError, variablesOf, type CfnResource, type CfnTemplate, type CfnValue, type IamStatement } from 'arc-plugin-sqs-queues/template'
import { accessKey, type FunctionAccess, type TableAccess } from './access.ts'
import { literalVariables } from './stage-settings.ts'
import { parameterArn, WEBHOOK_SECRET_VARIABLE, WEBHOOK_URL_VARIABLE } from './webhook-secret.ts'

/** Architect's shared role, which every function uses until this transform. */
export const SHARED_ROLE = 'Role'
export const roleLogicalId = (functionId: string): string => `${functionId}Role`

export interface RoleOptions {
  access: Record<string, FunctionAccess>
  /** The SSM parameter of the webhook signing secret (webhook-secret.ts). */
  webhookSecretParameter: string
  /** Every function sends its trace segments to X-Ray (the `tracing` deploy setting). */
  tracing?: boolean
}

/**
 * `arc.tables()` (@architect/functions) finds the table names with one
 * GetParametersByPath of `/<StackName>`, recursive; SSM authorizes that call
 * on the path itself, so this grant reads the table names and nothing else.
 */
const TABLE_DISCOVERY: IamStatement = {
  Effect: 'Allow',
  Action: ['ssm:GetParametersByPath'],
  Resource: { 'Fn::Sub': 'arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:parameter/${AWS::StackName}' },
}

const sesIdentityArn = (identity: string): CfnValue => ({ 'Fn::Sub': `arn:\${AWS::Partition}:ses:\${AWS::Region}:\${AWS::AccountId}:identity/${identity}` })

/**
 * The email channel's one call (SES v2 SendEmail with Simple content needs no
 * SendRawEmail), from the function's own NOTIFY_EMAIL_FROM only: the
 * `ses:FromAddress` condition pins the sender's address (the address part of
 * `Name <address>`), and the resources are the identities SES may authorize
 * the call against: the sender's address or its domain, whichever of them is
 * verified, and, while the account is in the SES sandbox, each recipient's
 * (the condition still pins the sender). The app names no configuration
 * set, so none is granted. No sender configured: no statement.
 */
function sendEmailStatement(variables: Record<string, string | undefined>): IamStatement | undefined {
  const from = variables.NOTIFY_EMAIL_FROM?.trim()
  if (!from) return undefined
  const sender = emailAddressOf(from)
  const recipients = (variables.NOTIFY_EMAIL_TO ?? '').split(',').map((entry) => entry.trim()).filter(Boolean).map(emailAddressOf)
  const identities = [...new Set([sender, ...recipients].flatMap((address) => [address, address.slice(address.lastIndexOf('@') + 1)]))]
  return {
    Effect: 'Allow',
    Action: ['ses:SendEmail'],
    Resource: identities.map(sesIdentityArn),
    Condition: { StringEquals: { 'ses:FromAddress': sender } },
  }
}

/** GetParameter on the webhook's SecureStrings: the signing secret, and the URL when the function's NOTIFY_WEBHOOK_URL_PARAMETER names one. */
function webhookParametersStatement(variables: Record<string, string | undefined>, secretParameter: string): IamStatement {
  const urlParameter = variables[WEBHOOK_URL_VARIABLE]?.trim()
  return { Effect: 'Allow', Action: ['ssm:GetParameter'], Resource: [secretParameter, ...(urlParameter ? [urlParameter] : [])].map(parameterArn) }
}

/**
 * `<function name>#*`, the keys Powertools idempotency writes for the
 * function (access.ts, ownKeysOnly), as IAM sees its name: the FunctionName
 * the template gives it (withLogGroups). A name CloudFormation would generate
 * is unknown here, and a role naming its own function by Ref would be a cycle.
 */
function ownKeyPattern(template: CfnTemplate, functionId: string): CfnValue {
  const name = resource(template, functionId, 'AWS::Serverless::Function').Properties.FunctionName
  if (typeof name === 'string') return `${name}#*`
  if (isObject(name) && typeof name['Fn::Sub'] === 'string') return { 'Fn::Sub': `${name['Fn::Sub']}#*` }
  throw new TemplateError(`${functionId} has no FunctionName the template states (a string or an Fn::Sub), which its idempotency records' key prefix, and so its IAM condition, needs`)
}

/**
 * What a traced function needs to send its segments (Lambda's own and the
 * tracer's subsegments) to X-Ray. These two actions name no resource type:
 * IAM accepts them on `*` alone, so this is the one grant on `*` a role has.
 */
export const XRAY_WRITE: IamStatement = {
  Effect: 'Allow',
  Action: ['xray:PutTraceSegments', 'xray:PutTelemetryRecords'],
  Resource: '*',
}

/** Writing into its own log group, which the stack owns (withLogGroups); Lambda creates no group. */
function logStatement(template: CfnTemplate, functionId: string): IamStatement {
  const group = `${functionId}LogGroup`
  resource(template, group, 'AWS::Logs::LogGroup')
  // A log group's Arn attribute ends in `:*`: its streams.
  return { Effect: 'Allow', Action: ['logs:CreateLogStream', 'logs:PutLogEvents'], Resource: arnOf(group) }
}

/** The item actions on a table (on the function's own keys only, where access says so) and Query on the indexes named, each of which app.arc must declare. */
function tableStatements(template: CfnTemplate, functionId: string, access: TableAccess): IamStatement[] {
  const id = `${toLogicalId(access.table)}Table`
  const table = resource(template, id, 'AWS::DynamoDB::Table')
  const declared = (Array.isArray(table.Properties.GlobalSecondaryIndexes) ? table.Properties.GlobalSecondaryIndexes : [])
    .map((index) => (isObject(index) ? index.IndexName : undefined))
    .filter((name): name is string => typeof name === 'string')
  const statements: IamStatement[] = []
  if (access.actions?.length) {
    // ForAllValues: every partition key the request names must match; each granted action names exactly one.
    const own = access.ownKeysOnly ? { Condition: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [ownKeyPattern(template, functionId)] } } } : {}
    statements.push({ Effect: 'Allow', Action: access.actions, Resource: arnOf(id), ...own })
  }
  for (const index of access.indexes === 'all' ? declared : (access.indexes ?? [])) {
    if (!declared.includes(index)) throw new TemplateError(`@tables ${access.table} has no index ${index} (app.arc @tables-indexes), which a function queries`)
    statements.push({ Effect: 'Allow', Action: ['dynamodb:Query'], Resource: { 'Fn::Sub': `\${${id}.Arn}/index/${index}` } })
  }
  return statements
}

function statementsOf(template: CfnTemplate, functionId: string, access: FunctionAccess, options: RoleOptions): IamStatement[] {
  const tables = access.tables ?? []
  // The function's own settings (the stage's npx arc env values): its sender, its webhook URL's parameter.
  const variables = literalVariables(template, functionId)
  const sendEmail = access.sendsEmail ? sendEmailStatement(variables) : undefined
  return [
    logStatement(template, functionId),
    ...(tables.length ? [TABLE_DISCOVERY] : []),
    ...tables.flatMap((table) => tableStatements(template, functionId, table)),
    ...(access.produces ?? []).map((queue) => queueAccess(queue, 'produce')),
    ...(access.consumes ?? []).map((queue) => queueAccess(queue, 'consume')),
    ...(access.switchesMappingOf ?? []).map(mappingAccess),
    ...(sendEmail ? [sendEmail] : []),
    ...(access.readsWebhookParameters ? [webhookParametersStatement(variables, options.webhookSecretParameter)] : []),
    ...(options.tracing ? [XRAY_WRITE] : []),
  ]
}

function functionRole(statements: IamStatement[]): CfnResource {
  return {
    Type: 'AWS::IAM::Role',
    Properties: {
      AssumeRolePolicyDocument: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' }, Action: 'sts:AssumeRole' }] },
      Policies: [{ PolicyName: 'FunctionAccess', PolicyDocument: policyDocument(statements) }],
    },
  }
}

/**
 * Each function gets `<Function>Role` and points at it (its `Role` and
 * Architect's `ARC_ROLE`); the consumer of the webhook secret learns its name.
 * Run after withLogGroups: the idempotency conditions need each function's name.
 * Each event source mapping then waits for its consumer's own role. Then
 * Architect's shared role goes, with the policies attached to it alone:
 * anything else still naming it stops the build, as it would stop the deploy.
 */
export function withFunctionRoles(template: CfnTemplate, options: RoleOptions): CfnTemplate {
  const result = structuredClone(template)
  for (const [id, fn] of functionsOf(result)) {
    const key = accessKey(fn.ArcMetadata)
    const access = options.access[key]
    if (!access) throw new TemplateError(`No permissions are declared for ${key} (${id}): add what it uses to FUNCTION_ACCESS in src/plugins/queue-leveling/access.ts`)
    const roleId = roleLogicalId(id)
    result.Resources[roleId] = functionRole(statementsOf(result, id, access, options))
    fn.Properties.Role = arnOf(roleId)
    const variables = variablesOf(fn)
    if (variables.ARC_ROLE !== undefined) variables.ARC_ROLE = ref(roleId)
    if (access.readsWebhookParameters) variables[WEBHOOK_SECRET_VARIABLE] = options.webhookSecretParameter
  }
  return withoutSharedRole(withMappingDependencies(result))
}

function withoutSharedRole(template: CfnTemplate): CfnTemplate {
  const onlyShared = (item: CfnResource): boolean =>
    item.Type === 'AWS::IAM::Policy' && JSON.stringify(item.Properties?.Roles) === JSON.stringify([ref(SHARED_ROLE)])
  const resources = Object.fromEntries(Object.entries(template.Resources).filter(([id, item]) => id !== SHARED_ROLE && !onlyShared(item)))
  const result: CfnTemplate = { ...template, Resources: resources }
  const still = [...Object.entries(resources), ...Object.entries(result.Outputs ?? {})].filter(([, item]) => referencesIn(item).includes(SHARED_ROLE)).map(([id]) => id)
  if (still.length) throw new TemplateError(`${still.join(', ')} still refer to Architect's shared ${SHARED_ROLE}, which each function's own role replaces`)
  return result
}
