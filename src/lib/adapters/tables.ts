import arc from '@architect/functions'
import { lazy } from '../lazy.ts'
import { tracer } from '../tracing.ts'

export interface AppTables {
  tasks: Record<string, unknown>
  deliveries: Record<string, unknown>
  idempotency: Record<string, unknown>
  breakers: Record<string, unknown>
}

/**
 * One discovery of the app's tables per Lambda container (tried again after a
 * failure). aws-lite makes its calls over Node's https, which no SDK wrapper
 * reaches: the tracer, when the function traces, records them by patching
 * https, so it is made before the first call (the discovery itself is one).
 */
export const appTables: () => ReturnType<typeof arc.tables<AppTables>> = lazy(async () => {
  await tracer()
  return arc.tables<AppTables>()
})

export function isConditionFailure(error: unknown): boolean {
  const name = (error as { name?: string; __type?: string } | undefined)?.name ?? ''
  const type = (error as { __type?: string } | undefined)?.__type ?? ''
  return name.includes('ConditionalCheckFailed') || type.includes('ConditionalCheckFailed')
}

/** Runs a conditional write: resolves false when its condition did not hold; any other failure is thrown. */
export async function conditionalWrite(write: () => Promise<unknown>): Promise<boolean> {
  try {
    await write()
    return true
  } catch (error) {
    if (isConditionFailure(error)) return false
    throw error
  }
}

/** DynamoDB rejects an empty key or one over 2048 bytes; no stored item has such a key. */
export function isKeyValue(value: string): boolean {
  return value.length > 0 && Buffer.byteLength(value, 'utf8') <= 2048
}
