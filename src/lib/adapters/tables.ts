import arc from '@architect/functions'
import { lazy } from '../lazy.ts'

export interface AppTables {
  tasks: Record<string, unknown>
  deliveries: Record<string, unknown>
  idempotency: Record<string, unknown>
}

/** One discovery of the app's tables per Lambda container (tried again after a failure). */
export const appTables: () => ReturnType<typeof arc.tables<AppTables>> = lazy(() => arc.tables<AppTables>())

export function isConditionFailure(error: unknown): boolean {
  const name = (error as { name?: string; __type?: string } | undefined)?.name ?? ''
  const type = (error as { __type?: string } | undefined)?.__type ?? ''
  return name.includes('ConditionalCheckFailed') || type.includes('ConditionalCheckFailed')
}

/** DynamoDB rejects an empty key or one over 2048 bytes; no stored item has such a key. */
export function isKeyValue(value: string): boolean {
  return value.length > 0 && Buffer.byteLength(value, 'utf8') <= 2048
}
