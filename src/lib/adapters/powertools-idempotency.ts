import type { DynamoDBPersistenceLayer } from '@aws-lambda-powertools/idempotency/dynamodb'
import { appTables } from './tables.ts'

let persistence: Promise<DynamoDBPersistenceLayer> | undefined

/**
 * Powertools idempotency records in the app's `idempotency` table. Conditional
 * writes only, so it runs on the sandbox's DynamoDB too (no transactions there);
 * Powertools checks expiry on read, as the local DynamoDB never expires TTL items.
 * The table's name comes from Architect, the endpoint from the SDK's own settings.
 * The DynamoDB SDK loads on first use: a create without Idempotency-Key never pays for it.
 */
export function idempotencyPersistence(): Promise<DynamoDBPersistenceLayer> {
  persistence ??= Promise.all([appTables(), import('@aws-sdk/client-dynamodb'), import('@aws-lambda-powertools/idempotency/dynamodb')]).then(
    ([data, { DynamoDBClient }, { DynamoDBPersistenceLayer }]) =>
      new DynamoDBPersistenceLayer({ tableName: data.name('idempotency'), awsSdkV3Client: new DynamoDBClient({}) }),
  )
  return persistence
}
