import { hostname, userInfo } from 'node:os'
import type { LambdaClient } from '@aws-sdk/client-lambda'
import { GetCommand, PutCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb'
import { ConsumerControl } from '../leveling/consumer-control.ts'
import { ALL_CHANNELS, type ControlSender } from '../leveling/control.ts'
import type { BreakerSettings } from '../leveling/breaker.ts'
import { noLevelingMetrics } from '../leveling/metrics.ts'
import { DynamoBreakerStore, type BreakerTable } from './dynamo-breaker-store.ts'
import { LambdaMappingSwitch } from './lambda-mapping.ts'

/**
 * What an operator works the notifications consumer through, with the
 * operator's own AWS SDK clients (`npm run consumer`, the local dashboard):
 * the breakers table, the consumer's event source mapping, and the control
 * that reconciles one with the other, the same code the control function runs.
 */
export interface ConsumerSwitch {
  control: ConsumerControl
  store: DynamoBreakerStore
  mapping: LambdaMappingSwitch
}

/** Who the operator is, as a pause records it: the local user on this machine. */
export const operatorName = (): string => `${userInfo().username}@${hostname()}`

/** The breakers table through the AWS SDK's document client: the same expressions as the app's. */
export function documentBreakerTable(db: DynamoDBDocumentClient, TableName: string): BreakerTable {
  return {
    get: async (id) => (await db.send(new GetCommand({ TableName, Key: { id }, ConsistentRead: true }))).Item,
    update: async (input) => (await db.send(new UpdateCommand({ TableName, ...input }))).Attributes,
    put: async (input) => void (await db.send(new PutCommand({ TableName, ...input }))),
  }
}

/** The mapping of that UUID, through the operator's Lambda client. */
export function mappingSwitch(lambda: LambdaClient, uuid: string): LambdaMappingSwitch {
  return new LambdaMappingSwitch(async () => ({ client: lambda, commands: await import('@aws-sdk/client-lambda') }), uuid)
}

/** An operator's pause only ever delays: it sends no control message, and answers nothing one could not do later. */
const noControl: ControlSender = { send: async () => undefined }

/**
 * The switch over that table and mapping. `breaker` gives a never-written
 * breaker its period; an operator only reads what the functions stored.
 */
export function consumerSwitch(table: BreakerTable, mapping: LambdaMappingSwitch, breaker: BreakerSettings): ConsumerSwitch {
  const store = new DynamoBreakerStore(table, breaker)
  const control = new ConsumerControl({ store, channels: ALL_CHANNELS, mapping, control: noControl, metrics: noLevelingMetrics })
  return { control, store, mapping }
}
