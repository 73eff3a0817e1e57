import type { DynamoDBPersistenceLayer } from '@aws-lambda-powertools/idempotency/dynamodb'
import { lazy } from '../lazy.ts'
import { traced } from '../tracing.ts'
import { appTables } from './tables.ts'

/**
 * Powertools idempotency records in the app's `idempotency` table. Conditional
 * writes only, so it runs on the sandbox's DynamoDB too (no transactions there);
 * Powertools checks expiry on read, as the local DynamoDB never expires TTL items.
 * The table's name comes from Architect, the endpoint from the SDK's own settings.
 * The DynamoDB SDK loads on first use: a create without Idempotency-Key never pays for it.
 * Its client is traced when the function traces (tracing.ts).
 */
export const idempotencyPersistence: () => Promise<DynamoDBPersistenceLayer> = lazy(async () => {
  const [data, { DynamoDBClient }, { DynamoDBPersistenceLayer }] = await Promise.all([
    appTables(),
    import('@aws-sdk/client-dynamodb'),
    import('@aws-lambda-powertools/idempotency/dynamodb'),
  ])
  return new DynamoDBPersistenceLayer({ tableName: data.name('idempotency'), awsSdkV3Client: await traced(new DynamoDBClient({})) })
})
