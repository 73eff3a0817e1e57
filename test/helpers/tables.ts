import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb'
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb'

/** The sandbox's own DynamoDB, read and written directly: what an item really holds, and items no API call could make. */
export interface LocalTables {
  raw: DynamoDBClient
  documents: DynamoDBDocumentClient
  /** The physical name of an @tables table, as the sandbox named it (found by ListTables, not assumed). */
  name(table: string): Promise<string>
  close(): void
}

/** The tables of the sandbox whose DynamoDB listens on `port` (an app's ports.ARC_TABLES_PORT). */
export function localTables(port: number): LocalTables {
  const raw = new DynamoDBClient({
    endpoint: `http://127.0.0.1:${port}`,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  })
  return {
    raw,
    documents: DynamoDBDocumentClient.from(raw),
    async name(table) {
      const { TableNames = [] } = await raw.send(new ListTablesCommand({}))
      const found = TableNames.filter((name) => name.endsWith(`-staging-${table}`))
      if (found.length !== 1) throw new Error(`Expected one sandbox table for ${table}, found ${JSON.stringify(TableNames)}`)
      return found[0]!
    },
    close: () => raw.destroy(),
  }
}
