/**
 * The deploy half of the sqs-queues plugin: the `@queues` of app.arc as real
 * SQS in the template @architect/package emits, from the same keys the local
 * emulation reads (settings.ts): a standard or FIFO queue with its DLQ (FIFO
 * too for a FIFO queue) and redrive, both encrypted at rest and refusing
 * requests without TLS, the consumer's
 * event source mapping (an explicit AWS::Lambda::EventSourceMapping, whose
 * UUID other functions get as `<QUEUE>_EVENT_SOURCE_MAPPING`), the queue URLs
 * in every function's environment, and SQS permissions narrowed to these
 * queues. What each side of a queue may do (queueAccess, mappingAccess) is
 * here too, for an app that gives each function its own role.
 */
import { mappingVariable } from './local-lambda-api.ts'
import { queueUrlVariables } from './local-queues.ts'
import { queueLogicalIds, toLogicalId } from './names.ts'
import type { QueueSettings } from './settings.ts'
import {
  arnOf,
  functionsOf,
  isObject,
  policyDocument,
  ref,
  referencesIn,
  refersTo,
  resource,
  TemplateError,
  variablesOf,
  type CfnResource,
  type CfnTemplate,
  type CfnValue,
  type IamStatement,
} from './template.ts'

const DAY_SECONDS = 24 * 60 * 60

/** What a producer does with a queue: send. */
export const PRODUCER_ACTIONS = ['sqs:SendMessage']
/**
 * What a queue's consumer needs: Lambda's event source mapping receives,
 * deletes and reads the queue's attributes with the consumer's role; the
 * consumer itself changes a failed message's visibility (its backoff).
 */
export const CONSUMER_ACTIONS = ['sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:ChangeMessageVisibility', 'sqs:GetQueueAttributes']
/** The SQS actions the functions (and Lambda's event source mapping) use: nothing else. */
export const SQS_ACTIONS = [...PRODUCER_ACTIONS, ...CONSUMER_ACTIONS]
/** What a function that pauses and resumes a queue's consumer does with its event source mapping: read its State, set Enabled. */
export const MAPPING_ACTIONS = ['lambda:GetEventSourceMapping', 'lambda:UpdateEventSourceMapping']

/** The logical id of a queue's TLS-only policy. */
export const queuePolicyLogicalId = (queueId: string): string => `${queueId}Policy`

export function transformQueues(template: CfnTemplate, queues: QueueSettings[]): CfnTemplate {
  let result = template
  for (const queue of queues) result = withQueue(result, queue)
  result = withQueueUrls(result, queues)
  result = withMappingVariables(result, queues)
  return withSqsNarrowed(result, queues)
}

/** The queue properties of its kind: a FIFO queue's (SQS requires its DLQ to be FIFO too), none for a standard queue. */
const kindProperties = (queue: QueueSettings): Record<string, CfnValue> =>
  queue.fifo ? { FifoQueue: true, ContentBasedDeduplication: queue.fifo.contentBasedDeduplication } : {}

/**
 * The queue (standard or FIFO) with visibility and retention, its DLQ of the
 * same kind and redrive, and the consumer's event source mapping: an
 * AWS::Lambda::EventSourceMapping of its own in place of the SQS event
 * Architect gives the function (SAM would make the same resource of it, under
 * the same logical id), so that other resources can name it: its UUID (Ref)
 * and its ARN (GetAtt EventSourceMappingArn), for a function that pauses it.
 */
export function withQueue(template: CfnTemplate, queue: QueueSettings): CfnTemplate {
  const result = structuredClone(template)
  const ids = queueLogicalIds(queue.name)
  const main = resource(result, ids.queue, 'AWS::SQS::Queue')
  // Architect emits FifoQueue and ContentBasedDeduplication for a FIFO queue (none for a standard one): the settings say which.
  delete main.Properties.FifoQueue
  delete main.Properties.ContentBasedDeduplication
  Object.assign(main.Properties, kindProperties(queue))
  main.Properties.VisibilityTimeout = queue.visibilityTimeout
  main.Properties.MessageRetentionPeriod = queue.retentionDays * DAY_SECONDS
  main.Properties.RedrivePolicy = { deadLetterTargetArn: arnOf(ids.dlq), maxReceiveCount: queue.maxReceiveCount }
  result.Resources[ids.dlq] = {
    Type: 'AWS::SQS::Queue',
    Properties: { ...kindProperties(queue), MessageRetentionPeriod: queue.dlqRetentionDays * DAY_SECONDS },
  }
  for (const id of [ids.queue, ids.dlq]) {
    // SSE-SQS: encrypted at rest with a key SQS owns, so no KMS grant is needed by anyone who may use the queue.
    resource(result, id, 'AWS::SQS::Queue').Properties.SqsManagedSseEnabled = true
    result.Resources[queuePolicyLogicalId(id)] = tlsOnlyPolicy(id)
  }

  const lambda = resource(result, ids.lambda, 'AWS::Serverless::Function')
  const events = lambda.Properties.Events
  const event = isObject(events) ? events[ids.event] : undefined
  if (!isObject(events) || !isObject(event) || event.Type !== 'SQS' || !isObject(event.Properties)) {
    throw new TemplateError(`${ids.lambda} has no SQS event "${ids.event}"; has Architect changed its event source mapping?`)
  }
  delete events[ids.event]
  if (Object.keys(events).length === 0) delete lambda.Properties.Events
  result.Resources[ids.mapping] = {
    Type: 'AWS::Lambda::EventSourceMapping',
    Properties: {
      FunctionName: ref(ids.lambda),
      EventSourceArn: arnOf(ids.queue),
      // No Enabled: Lambda creates a mapping enabled, and a later deploy that changes another property
      // (batchSize...) then leaves Enabled as it is: a deploy never resumes a consumer someone paused.
      BatchSize: queue.batchSize,
      // AWS supports no batching window for FIFO queues (settings.ts refuses one).
      ...(!queue.fifo && { MaximumBatchingWindowInSeconds: queue.batchWindow }),
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      ScalingConfig: { MaximumConcurrency: queue.maxConcurrency },
    },
  }
  // For a FIFO queue Architect reserves `batchSize` (or 1) concurrent executions, its way of bounding
  // the consumer: below maxConcurrency that throttles it. ScalingConfig.MaximumConcurrency bounds it here.
  if (queue.fifo) delete lambda.Properties.ReservedConcurrentExecutions

  result.Outputs ??= {}
  result.Outputs[`${toLogicalId(queue.name)}SqsDeadLetterQueue`] = { Description: 'The SQS dead-letter queue (URL)', Value: ref(ids.dlq) }
  return withMappingDependencies(result)
}

/**
 * Each event source mapping waits for what grants its function's role the
 * queue (the role, which holds its policies inline, and any policy attached
 * to it): Lambda checks the role's SQS permissions when it creates the
 * mapping, so the mapping must not race the grant. Run again by an app that
 * gives a consumer another role.
 */
export function withMappingDependencies(template: CfnTemplate): CfnTemplate {
  const result = structuredClone(template)
  for (const item of Object.values(result.Resources)) {
    if (item.Type !== 'AWS::Lambda::EventSourceMapping') continue
    const [functionId] = referencesIn(item.Properties?.FunctionName)
    const fn = functionId ? result.Resources[functionId] : undefined
    if (!functionId || !fn) throw new TemplateError(`An event source mapping names no function of the template: ${JSON.stringify(item.Properties?.FunctionName)}`)
    const roles = referencesIn(fn.Properties?.Role).filter((id) => result.Resources[id]?.Type === 'AWS::IAM::Role')
    const policies = Object.entries(result.Resources)
      .filter(([, policy]) => policy.Type === 'AWS::IAM::Policy' && referencesIn(policy.Properties?.Roles).some((id) => roles.includes(id)))
      .map(([id]) => id)
    item.DependsOn = [...roles, ...policies]
  }
  return result
}

/**
 * Every function gets each queue's mapping UUID as `<QUEUE>_EVENT_SOURCE_MAPPING`
 * ({Ref}: the name the Lambda API takes, as locally), except a function the
 * mapping itself depends on, for which that Ref would be a cycle
 * CloudFormation refuses: its own consumer, and whatever the consumer's
 * environment or role names. Queues are taken in app.arc's order, so of two
 * consumers (which cannot both name the other's mapping) the later one names
 * the earlier one's: declare a queue that controls another after it.
 * Decided on the template as it is, so an app that later makes a mapping
 * depend on more (a role granted UpdateEventSourceMapping on its ARN) runs
 * this again.
 */
export function withMappingVariables(template: CfnTemplate, queues: QueueSettings[]): CfnTemplate {
  const result = structuredClone(template)
  const functions = functionsOf(result).filter(([, fn]) => fn.ArcMetadata)
  // Decided afresh: a variable given earlier may close a cycle now.
  for (const [, fn] of functions) for (const queue of queues) delete variablesOf(fn)[mappingVariable(queue.name)]
  for (const queue of queues) {
    const mapping = queueLogicalIds(queue.name).mapping
    resource(result, mapping, 'AWS::Lambda::EventSourceMapping')
    for (const [id, fn] of functions) {
      if (!refersTo(result, mapping, id)) variablesOf(fn)[mappingVariable(queue.name)] = ref(mapping)
    }
  }
  return result
}

/** Denies every request to the queue made without TLS, whoever makes it; what is allowed stays with IAM. */
function tlsOnlyPolicy(queueId: string): CfnResource {
  const statement: IamStatement = {
    Sid: 'DenyWithoutTls',
    Effect: 'Deny',
    Principal: '*',
    Action: 'sqs:*',
    Resource: arnOf(queueId),
    Condition: { Bool: { 'aws:SecureTransport': 'false' } },
  }
  return {
    Type: 'AWS::SQS::QueuePolicy',
    Properties: { Queues: [ref(queueId)], PolicyDocument: policyDocument([statement]) },
  }
}

/**
 * What one side of a queue may do, on that queue alone (not its DLQ: moving
 * messages back is an operator's job, with the operator's credentials). Which
 * function produces is the app's to say; the consumer is the queue's function.
 */
export function queueAccess(queue: string, side: 'produce' | 'consume'): IamStatement {
  return { Effect: 'Allow', Action: side === 'produce' ? PRODUCER_ACTIONS : CONSUMER_ACTIONS, Resource: arnOf(queueLogicalIds(queue).queue) }
}

/**
 * What a function that pauses and resumes a queue's consumer may do: read and
 * update that queue's event source mapping, named by its ARN, and no other.
 */
export function mappingAccess(queue: string): IamStatement {
  return { Effect: 'Allow', Action: MAPPING_ACTIONS, Resource: { 'Fn::GetAtt': [queueLogicalIds(queue).mapping, 'EventSourceMappingArn'] } }
}

/** Every Architect function gets each queue's and DLQ's URL (Ref of an AWS::SQS::Queue is its URL). */
export function withQueueUrls(template: CfnTemplate, queues: QueueSettings[]): CfnTemplate {
  const result = structuredClone(template)
  for (const [, fn] of functionsOf(result)) {
    if (!fn.ArcMetadata) continue
    const variables = variablesOf(fn)
    for (const queue of queues) {
      const names = queueUrlVariables(queue.name)
      const ids = queueLogicalIds(queue.name)
      variables[names.queue] = ref(ids.queue)
      variables[names.dlq] = ref(ids.dlq)
    }
  }
  return result
}

interface Statement {
  Effect?: string
  Action?: string | string[]
  Resource?: CfnValue
  [key: string]: unknown
}
export interface RolePolicy {
  PolicyName?: string
  PolicyDocument?: { Statement?: Statement[] }
}

export const actionsOf = (statement: Statement): string[] => (Array.isArray(statement.Action) ? statement.Action : statement.Action ? [statement.Action] : [])

/** The inline policies of Architect's shared role, or none when the template has no such role. */
export function rolePolicies(template: CfnTemplate): RolePolicy[] | undefined {
  const role = template.Resources.Role
  if (!role || role.Type !== 'AWS::IAM::Role') return undefined
  role.Properties ??= {}
  if (!Array.isArray(role.Properties.Policies)) role.Properties.Policies = []
  return role.Properties.Policies as unknown as RolePolicy[]
}

/** Replaces each statement of the role's policies by what `change` returns for it; drops policies left empty (an invalid policy). */
export function changeRoleStatements(template: CfnTemplate, change: (statement: Statement, policy: RolePolicy) => Statement[]): CfnTemplate {
  const result = structuredClone(template)
  const policies = rolePolicies(result)
  if (!policies) return result
  for (const policy of policies) {
    const statements = policy.PolicyDocument?.Statement
    if (statements) policy.PolicyDocument!.Statement = statements.flatMap((statement) => change(statement, policy))
  }
  result.Resources.Role!.Properties!.Policies = policies.filter((policy) => policy.PolicyDocument?.Statement?.length !== 0) as unknown as CfnValue
  return result
}

/** Architect's shared role may use SQS on every queue (`*`): narrow it to these queues and DLQs and the actions used. */
export function withSqsNarrowed(template: CfnTemplate, queues: QueueSettings[]): CfnTemplate {
  const queueArns = queues.flatMap((queue) => {
    const ids = queueLogicalIds(queue.name)
    return [arnOf(ids.queue), arnOf(ids.dlq)]
  })
  return changeRoleStatements(template, (statement, policy) => {
    const actions = actionsOf(statement)
    if (statement.Effect !== 'Allow' || !actions.some((action) => action.startsWith('sqs:'))) return [statement]
    if (actions.some((action) => !action.startsWith('sqs:'))) throw new TemplateError(`Role policy ${policy.PolicyName} mixes SQS with other actions; cannot narrow it`)
    return queueArns.length ? [{ Effect: 'Allow', Action: SQS_ACTIONS, Resource: queueArns }] : []
  })
}
