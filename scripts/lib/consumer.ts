import { LambdaClient, ListEventSourceMappingsCommand } from '@aws-sdk/client-lambda'
import type { DynamoBreakerStore } from '../../src/lib/adapters/dynamo-breaker-store.ts'
import type { LambdaMappingSwitch } from '../../src/lib/adapters/lambda-mapping.ts'
import { consumerSwitch, documentBreakerTable, mappingSwitch, operatorName } from '../../src/lib/adapters/operator-consumer.ts'
import { readLevelingSettings } from '../../src/lib/config.ts'
import type { ConsumerControl } from '../../src/lib/leveling/consumer-control.ts'
import { ALL_CHANNELS } from '../../src/lib/leveling/control.ts'
import { levelingStatus, pauseConsumer as pause, resumeConsumer as resume, type LevelingStatus } from '../../src/lib/leveling/operator.ts'
import type { Reconciled } from '../../src/lib/leveling/reconcile.ts'
import { messageCounts, type MessageCounts } from 'arc-plugin-sqs-queues/dlq-operations'
import { localQueueAddress } from 'arc-plugin-sqs-queues/local-queues'
import { queueLogicalIds } from 'arc-plugin-sqs-queues/names'
import type { DeployedEnv } from './command-line.ts'
import { appName, deployedTarget, localTarget, stackName, type DlqTarget } from './dlq-target.ts'
import { deployedTablesTarget, localTablesTarget, type TablesTarget } from './tables-target.ts'
import { localClientConfig } from '../../src/lib/adapters/local-client.ts'

/**
 * The operator's side of adaptive leveling (`npm run consumer`): the
 * notifications consumer's state, and a pause the breakers never lift. The
 * pause is written where the consumer-control function reads it (the
 * `breakers` table), and the mapping is reconciled at once with the
 * operator's own credentials, through the same code the control function
 * runs (src/lib/leveling/operator.ts, which the local dashboard's Pause and
 * Resume share); locally the Lambda API is the sqs-queues plugin's emulation.
 */

const QUEUE = 'notifications'

export interface ConsumerTarget {
  control: ConsumerControl
  store: DynamoBreakerStore
  mapping: LambdaMappingSwitch
  queues: DlqTarget
  /** For messages: "the local app (...)" or the stack. */
  where: string
  local: boolean
  close(): void
}

/**
 * The consumer's mapping, found as Lambda lists it: the function's mapping
 * from the queue of that name (compared by name: a local run's ARNs carry
 * whatever region the sandbox runs in).
 */
async function mappingOf(lambda: LambdaClient, functionName: string, queueName: string): Promise<LambdaMappingSwitch> {
  const { EventSourceMappings = [] } = await lambda.send(new ListEventSourceMappingsCommand({ FunctionName: functionName }))
  const uuid = EventSourceMappings.find((mapping) => mapping.EventSourceArn?.endsWith(`:${queueName}`))?.UUID
  if (!uuid) throw new Error(`No event source mapping from ${queueName} to ${functionName}: is the app deployed (or running)?`)
  return mappingSwitch(lambda, uuid)
}

function assemble(tables: TablesTarget<'breakers'>, queues: DlqTarget, lambda: LambdaClient, mapping: LambdaMappingSwitch, where: string): ConsumerTarget {
  // The breakers' periods only matter to the functions that open them; what the operator reads is stored.
  return {
    ...consumerSwitch(documentBreakerTable(tables.db, tables.tables.breakers), mapping, readLevelingSettings({}).breaker),
    queues,
    where,
    local: tables.local,
    close() {
      tables.db.destroy()
      queues.sqs.destroy()
      lambda.destroy()
    },
  }
}

/** The app `npm start` runs: its tables (ARC_TABLES_PORT), its queues and the Lambda API emulation (ARC_SQS_PORT). */
export async function localConsumerTarget(env: NodeJS.ProcessEnv = process.env): Promise<ConsumerTarget> {
  const tables = await localTablesTarget(['breakers'], env)
  const queues = localTarget(QUEUE, env)
  const address = localQueueAddress(env)
  const lambda = new LambdaClient(localClientConfig(address.endpoint, address.region))
  try {
    const mapping = await mappingOf(lambda, queueLogicalIds(QUEUE).lambda, queues.queue.name)
    return assemble(tables, queues, lambda, mapping, `the local app (${address.endpoint}, ${tables.where})`)
  } catch (error) {
    tables.db.destroy()
    queues.sqs.destroy()
    lambda.destroy()
    throw error
  }
}

/** The deployed stage: its table, queues and consumer function from the stack `arc deploy` made. */
export async function deployedConsumerTarget(env: DeployedEnv): Promise<ConsumerTarget> {
  const { CloudFormationClient, DescribeStackResourceCommand } = await import('@aws-sdk/client-cloudformation')
  const [tables, queues] = await Promise.all([deployedTablesTarget(['breakers'], env), deployedTarget(QUEUE, env)])
  const region = await queues.sqs.config.region()
  const lambda = new LambdaClient({ region })
  const cloudformation = new CloudFormationClient({ region })
  try {
    const stack = stackName(await appName(), env)
    const { StackResourceDetail } = await cloudformation.send(new DescribeStackResourceCommand({ StackName: stack, LogicalResourceId: queueLogicalIds(QUEUE).lambda }))
    const functionName = StackResourceDetail?.PhysicalResourceId
    if (!functionName) throw new Error(`Stack ${stack} has no ${queueLogicalIds(QUEUE).lambda} yet: is it deployed?`)
    const mapping = await mappingOf(lambda, functionName, queues.queue.name)
    return assemble(tables, queues, lambda, mapping, queues.where)
  } catch (error) {
    tables.db.destroy()
    queues.sqs.destroy()
    lambda.destroy()
    throw error
  } finally {
    cloudformation.destroy()
  }
}

export interface ConsumerStatus extends LevelingStatus {
  /** The event source mapping's State, as Lambda reports it. */
  mapping: string
  queue: MessageCounts
  dlq: MessageCounts
}

export async function consumerStatus(target: ConsumerTarget): Promise<ConsumerStatus> {
  const [state, mapping, queue, dlq] = await Promise.all([
    target.store.read(ALL_CHANNELS),
    target.mapping.state(),
    messageCounts(target.queues.sqs, target.queues.queue.url),
    messageCounts(target.queues.sqs, target.queues.dlq.url),
  ])
  return { ...levelingStatus(state, ALL_CHANNELS), mapping, queue, dlq }
}

export function pauseConsumer(target: ConsumerTarget, by: string = operatorName(), now: number = Date.now()): Promise<Reconciled> {
  return pause(target, by, now)
}

export function resumeConsumer(target: ConsumerTarget, now: number = Date.now()): Promise<Reconciled> {
  return resume(target, now)
}

const time = (at: number): string => new Date(at).toISOString()
const counts = (counted: MessageCounts): string => `${counted.messages} waiting, ${counted.inFlight} in flight, ${counted.delayed} delayed`

/** The lines `status` prints. */
export function formatStatus(status: ConsumerStatus, where: string, now: number = Date.now()): string[] {
  const pause =
    status.pausedBy === 'operator'
      ? `paused by the operator${status.operator?.by ? ` (${status.operator.by})` : ''}${status.operator?.at ? ` since ${time(status.operator.at)}` : ''}`
      : status.pausedBy === 'breaker'
        ? 'paused by a breaker (resumes for the probe when its period ends)'
        : 'running'
  const lines = [`Consumer on ${where}: ${pause}`, `  event source mapping: ${status.mapping}`, `  queue: ${counts(status.queue)}`, `  DLQ:   ${counts(status.dlq)}`, '  breakers:']
  for (const [channel, breaker] of Object.entries(status.breakers)) {
    const until = breaker.until === null ? '' : breaker.until > now ? ` until ${time(breaker.until)} (${Math.ceil((breaker.until - now) / 1000)} s)` : ` (period ended ${time(breaker.until)})`
    lines.push(`    ${channel.padEnd(8)} ${breaker.state}${until}, ${breaker.consecutiveFailures} consecutive failure(s)`)
  }
  return lines
}

