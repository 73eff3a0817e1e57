import { InvalidMessageError } from '../messages/contract.ts'
import { DeliveryDeferredError, DeliveryFailedError } from './channel.ts'
import { DeliveryInProgressError } from './delivery-guard.ts'

export interface RetryPolicy {
  baseSeconds: number
  maxSeconds: number
}

/** Exponential backoff: base x 2^(receiveCount-1), capped; SQS accepts at most 12 hours. */
export function retryDelaySeconds(receiveCount: number, policy: RetryPolicy): number {
  const exponent = Math.max(0, Math.min(receiveCount - 1, 30))
  return Math.min(policy.baseSeconds * 2 ** exponent, policy.maxSeconds, 43_200)
}

/**
 * How long a downstream outage can last before a message reaches the DLQ: the
 * sum of the backoff waits before its last receive (5 receives, base 60 s:
 * 60 + 120 + 240 + 480 = 900 s).
 */
export function retryBudgetSeconds(maxReceiveCount: number, policy: RetryPolicy): number {
  let budget = 0
  for (let receiveCount = 1; receiveCount < maxReceiveCount; receiveCount++) budget += retryDelaySeconds(receiveCount, policy)
  return budget
}

/** May a later try succeed? Timeouts, 5xx, 429, throttling and in-flight copies may; bad messages and 4xx never. */
export function isRetryable(error: unknown): boolean {
  if (error instanceof InvalidMessageError) return false
  if (error instanceof DeliveryFailedError) return error.retryable
  if (error instanceof DeliveryDeferredError) return true
  if (error instanceof DeliveryInProgressError) return true
  if (error instanceof AggregateError) return error.errors.some(isRetryable)
  // Anything unexpected (a table briefly unavailable, a bug being fixed) is worth another try.
  return true
}

/**
 * When a downstream asked to be called again (Retry-After, epoch ms): the
 * latest such moment among the failures of a notification; undefined when
 * none asked.
 */
export function retryAtOf(error: unknown): number | undefined {
  if (error instanceof DeliveryFailedError) return error.retryAt
  if (!(error instanceof AggregateError)) return undefined
  const moments = error.errors.map(retryAtOf).filter((moment): moment is number => moment !== undefined)
  return moments.length ? Math.max(...moments) : undefined
}

/** SQS hides a message at most 12 hours. */
export const MAX_VISIBILITY_SECONDS = 43_200

/**
 * How long a failed message stays hidden: its backoff, but never less than
 * the downstream asked for (Retry-After), up to SQS's 12 hours.
 */
export function retryVisibilitySeconds(receiveCount: number, policy: RetryPolicy, retryAt: number | undefined, now: number): number {
  const backoff = retryDelaySeconds(receiveCount, policy)
  const asked = retryAt === undefined ? 0 : Math.ceil((retryAt - now) / 1000)
  return Math.min(Math.max(backoff, asked), MAX_VISIBILITY_SECONDS)
}
