import arc from '@architect/functions'

export interface AppTables {
  tasks: Record<string, unknown>
  deliveries: Record<string, unknown>
  idempotency: Record<string, unknown>
}

let tables: ReturnType<typeof arc.tables<AppTables>> | undefined

/** One discovery of the app's tables per Lambda container. */
export function appTables(): ReturnType<typeof arc.tables<AppTables>> {
  tables ??= arc.tables<AppTables>()
  return tables
}

export function isConditionFailure(error: unknown): boolean {
  const name = (error as { name?: string; __type?: string } | undefined)?.name ?? ''
  const type = (error as { __type?: string } | undefined)?.__type ?? ''
  return name.includes('ConditionalCheckFailed') || type.includes('ConditionalCheckFailed')
}

/** DynamoDB rejects an empty key or one over 2048 bytes; no stored item has such a key. */
export function isKeyValue(value: string): boolean {
  return value.length > 0 && Buffer.byteLength(value, 'utf8') <= 2048
}
