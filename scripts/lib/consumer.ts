import { hostname, userInfo } from 'node:os'
import { LambdaClient, ListEventSourceMappingsCommand } from '@aws-sdk/client-lambda'
import { GetCommand, PutCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb'
import { DynamoBreakerStore, type BreakerTable } from '../../src/lib/adapters/dynamo-breaker-store.ts'
import { LambdaMappingSwitch } from '../../src/lib/adapters/lambda-mapping.ts'
import { readLevelingSettings } from '../../src/lib/config.ts'
import { ConsumerControl } from '../../src/lib/leveling/consumer-control.ts'
import { ALL_CHANNELS, type ControlSender } from '../../src/lib/leveling/control.ts'
import { noLevelingMetrics } from '../../src/lib/leveling/metrics.ts'
import { pausedBy, type PausedBy, type Reconciled } from '../../src/lib/leveling/reconcile.ts'
import type { BreakerState } from '../../src/lib/leveling/breaker.ts'
import type { ChannelName } from '../../src/lib/notifications/delivery-log.ts'
import { messageCounts, type MessageCounts } from '../../src/plugins/sqs-queues/dlq-operations.ts'
import { localQueueAddress } from '../../src/plugins/sqs-queues/local-queues.ts'
import { queueLogicalIds } from '../../src/plugins/sqs-queues/names.ts'
import type { DeployedEnv } from './command-line.ts'
import { appName, deployedTarget, localTarget, stackName, type DlqTarget } from './dlq-target.ts'
import { deployedTablesTarget, localTablesTarget, type TablesTarget } from './tables-target.ts'

/**
 * The operator's side of adaptive leveling (`npm run consumer`): the
 * notifications consumer's state, and a pause the breakers never lift. The
 * pause is written where the consumer-control function reads it (the
 * `breakers` table), and the mapping is reconciled at once with the
 * operator's own credentials, through the same code the control function
 * runs; locally the Lambda API is the sqs-queues plugin's emulation.
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

/** The breakers table through the AWS SDK's document client: the operator's credentials, the same expressions as the app's. */
function documentTable(db: DynamoDBDocumentClient, TableName: string): BreakerTable {
  return {
    get: async (id) => (await db.send(new GetCommand({ TableName, Key: { id }, ConsistentRead: true }))).Item,
    update: async (input) => (await db.send(new UpdateCommand({ TableName, ...input }))).Attributes,
    put: async (input) => void (await db.send(new PutCommand({ TableName, ...input }))),
  }
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
  return new LambdaMappingSwitch(async () => ({ client: lambda, commands: await import('@aws-sdk/client-lambda') }), uuid)
}

/** An operator pause only ever delays: the command itself answers nothing a control message could not do later. */
const noControl: ControlSender = { send: async () => undefined }

function assemble(tables: TablesTarget<'breakers'>, queues: DlqTarget, lambda: LambdaClient, mapping: LambdaMappingSwitch, where: string): ConsumerTarget {
  // The breakers' periods only matter to the functions that open them; what the operator reads is stored.
  const store = new DynamoBreakerStore(documentTable(tables.db, tables.tables.breakers), readLevelingSettings({}).breaker)
  const control = new ConsumerControl({ store, channels: ALL_CHANNELS, mapping, control: noControl, metrics: noLevelingMetrics })
  return {
    control,
    store,
    mapping,
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
  // The local server answers at once or not at all: one attempt makes "not running" fail fast.
  const lambda = new LambdaClient({ endpoint: address.endpoint, region: address.region, credentials: { accessKeyId: 'local', secretAccessKey: 'local' }, maxAttempts: 1 })
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

export interface BreakerStatus {
  state: BreakerState
  /** Epoch ms the open period ends; null when closed. */
  until: number | null
  consecutiveFailures: number
}

export interface ConsumerStatus {
  paused: boolean
  pausedBy: PausedBy
  operator?: { at?: number; by?: string }
  /** The event source mapping's State, as Lambda reports it. */
  mapping: string
  queue: MessageCounts
  dlq: MessageCounts
  breakers: Record<ChannelName, BreakerStatus>
}

export async function consumerStatus(target: ConsumerTarget): Promise<ConsumerStatus> {
  const [state, mapping, queue, dlq] = await Promise.all([
    target.store.read(ALL_CHANNELS),
    target.mapping.state(),
    messageCounts(target.queues.sqs, target.queues.queue.url),
    messageCounts(target.queues.sqs, target.queues.dlq.url),
  ])
  const by = pausedBy(state)
  const breakers = Object.fromEntries(
    ALL_CHANNELS.map((channel) => {
      const breaker = state.breakers[channel]
      return [channel, { state: breaker?.state ?? 'closed', until: breaker?.openUntil ?? null, consecutiveFailures: breaker?.failing.length ?? 0 }]
    }),
  ) as Record<ChannelName, BreakerStatus>
  return {
    paused: by !== null,
    pausedBy: by,
    ...(state.pause.pausedBy === 'operator' && { operator: { ...(state.pause.pausedAt !== undefined && { at: state.pause.pausedAt }), ...(state.pause.by !== undefined && { by: state.pause.by }) } }),
    mapping,
    queue,
    dlq,
    breakers,
  }
}

/** Who the operator is, as the pause records it: the local user on this machine. */
export const operatorName = (): string => `${userInfo().username}@${hostname()}`

/** How long a pause or resume waits for the mapping to take it (a Disabling mapping finishes its batches first). */
const RECONCILE_MS = 90_000

export function pauseConsumer(target: ConsumerTarget, by: string = operatorName(), now: number = Date.now()): Promise<Reconciled> {
  return target.control.setOperatorPause({ pausedBy: 'operator', pausedAt: now, by }, now + RECONCILE_MS)
}

export function resumeConsumer(target: ConsumerTarget, now: number = Date.now()): Promise<Reconciled> {
  return target.control.setOperatorPause({ pausedBy: null }, now + RECONCILE_MS)
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

