import * as z from 'zod/mini'
import type { ChannelName } from '../notifications/delivery-log.ts'

/**
 * The messages of the `consumer-control` queue, which its function
 * (src/queues/consumer-control) acts on: the only place that switches the
 * notifications consumer's event source mapping, so no other function needs
 * that permission (and the consumer needs no reference to its own mapping).
 *
 * - `reconcile`: make the mapping's Enabled what the breakers and the
 *   operator's pause say now (reconcile.ts).
 * - `probe-due`: the open period of `channel`'s breaker (of `generation`)
 *   should be over: half-open it for one probe, then reconcile. Sent with
 *   DelaySeconds up to SQS's 900; one that comes early sends itself again.
 */
/** Every channel a breaker can hold: the control function reads them all, whichever the consumer has. */
export const ALL_CHANNELS = ['webhook', 'email', 'log'] as const satisfies readonly ChannelName[]

export const controlMessageSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('reconcile') }),
  z.object({ type: z.literal('probe-due'), channel: z.enum(ALL_CHANNELS), generation: z.int().check(z.positive()) }),
])
export type ControlMessage = z.output<typeof controlMessageSchema>

export class InvalidControlMessageError extends Error {
  override readonly name = 'InvalidControlMessageError'
}

export function parseControlMessage(body: string): ControlMessage {
  let json: unknown
  try {
    json = JSON.parse(body)
  } catch {
    throw new InvalidControlMessageError('A control message is not JSON')
  }
  const parsed = controlMessageSchema.safeParse(json)
  if (!parsed.success) throw new InvalidControlMessageError(`A control message is off contract: ${parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join(', ')}`)
  return parsed.data
}

/** SQS holds a message back at most 15 minutes: a longer wait is a chain of these. */
export const MAX_DELAY_SECONDS = 900

/** Whole seconds from `now` until `until`, at least `min`, at most SQS's 900. */
export const delaySecondsUntil = (until: number, now: number, min = 0): number => Math.min(MAX_DELAY_SECONDS, Math.max(min, Math.ceil((until - now) / 1000)))

/** Sends control messages, each after its delay; throws when one could not be sent. */
export interface ControlSender {
  send(messages: readonly { message: ControlMessage; delaySeconds: number }[]): Promise<void>
}
