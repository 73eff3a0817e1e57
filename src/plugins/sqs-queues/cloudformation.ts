/**
 * The deploy half of the sqs-queues plugin: the `@queues` of app.arc as real
 * SQS in the template @architect/package emits, from the same keys the local
 * emulation reads (settings.ts): a standard queue with its DLQ and redrive,
 * the consumer's event source mapping, the queue URLs in every function's
 * environment, and SQS permissions narrowed to these queues.
 */
import { queueUrlVariables } from './local-queues.ts'
import { queueLogicalIds, toLogicalId } from './names.ts'
import type { QueueSettings } from './settings.ts'
import { arnOf, functionsOf, isObject, ref, resource, TemplateError, variablesOf, type CfnTemplate, type CfnValue } from './template.ts'

const DAY_SECONDS = 24 * 60 * 60

/** The SQS actions the functions (and Lambda's event source mapping) use: nothing else. */
export const SQS_ACTIONS = ['sqs:SendMessage', 'sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:ChangeMessageVisibility', 'sqs:GetQueueAttributes']

export function transformQueues(template: CfnTemplate, queues: QueueSettings[]): CfnTemplate {
  let result = template
  for (const queue of queues) result = withQueue(result, queue)
  result = withQueueUrls(result, queues)
  return withSqsNarrowed(result, queues)
}

/** Standard queue with visibility and retention, its DLQ and redrive, and the consumer's event source mapping. */
export function withQueue(template: CfnTemplate, queue: QueueSettings): CfnTemplate {
  const result = structuredClone(template)
  const ids = queueLogicalIds(queue.name)
  const main = resource(result, ids.queue, 'AWS::SQS::Queue')
  // Architect emits FIFO unless told otherwise; this pattern needs a standard queue.
  delete main.Properties.FifoQueue
  delete main.Properties.ContentBasedDeduplication
  main.Properties.VisibilityTimeout = queue.visibilityTimeout
  main.Properties.MessageRetentionPeriod = queue.retentionDays * DAY_SECONDS
  main.Properties.RedrivePolicy = { deadLetterTargetArn: arnOf(ids.dlq), maxReceiveCount: queue.maxReceiveCount }
  result.Resources[ids.dlq] = {
    Type: 'AWS::SQS::Queue',
    Properties: { MessageRetentionPeriod: queue.dlqRetentionDays * DAY_SECONDS },
  }

  const lambda = resource(result, ids.lambda, 'AWS::Serverless::Function')
  const events = lambda.Properties.Events
  const event = isObject(events) ? events[ids.event] : undefined
  if (!isObject(event) || event.Type !== 'SQS' || !isObject(event.Properties)) {
    throw new TemplateError(`${ids.lambda} has no SQS event "${ids.event}"; has Architect changed its event source mapping?`)
  }
  event.Properties = {
    Queue: arnOf(ids.queue),
    Enabled: true,
    BatchSize: queue.batchSize,
    MaximumBatchingWindowInSeconds: queue.batchWindow,
    FunctionResponseTypes: ['ReportBatchItemFailures'],
    ScalingConfig: { MaximumConcurrency: queue.maxConcurrency },
  }

  result.Outputs ??= {}
  result.Outputs[`${toLogicalId(queue.name)}SqsDeadLetterQueue`] = { Description: 'The SQS dead-letter queue (URL)', Value: ref(ids.dlq) }
  return result
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
