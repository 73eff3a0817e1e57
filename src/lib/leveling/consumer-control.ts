import { logger } from '../log.ts'
import type { ChannelName } from '../notifications/delivery-log.ts'
import { halfOpened } from './breaker.ts'
import type { BreakerStore, OperatorPause } from './breaker-store.ts'
import { delaySecondsUntil, type ControlMessage, type ControlSender } from './control.ts'
import type { LevelingMetrics } from './metrics.ts'
import { pausedBy, reconcile, type MappingSwitch, type Reconciled } from './reconcile.ts'

export interface ConsumerControlOptions {
  store: BreakerStore
  /** The configured channels of the consumer: the breakers that can hold it. */
  channels: readonly ChannelName[]
  mapping: MappingSwitch
  /** Where a probe-due that came early goes again. */
  control: ControlSender
  metrics: LevelingMetrics
  now?: () => number
  /** Between two looks at a mapping that is between states, ms. */
  pollMs?: number
}

/**
 * What switches the notifications consumer off and on: the control queue's
 * function acts on its messages, and the operator's command pauses and
 * resumes through the same calls. Every change of the state is followed by
 * a reconcile of the event source mapping.
 */
export class ConsumerControl {
  readonly #options: ConsumerControlOptions
  readonly #now: () => number

  constructor(options: ConsumerControlOptions) {
    this.#options = options
    this.#now = options.now ?? Date.now
  }

  /** Acts on one control message; `deadline` (epoch ms) bounds the wait for the mapping. */
  async handle(message: ControlMessage, deadline: number): Promise<void> {
    if (message.type === 'reconcile') {
      await this.reconcile(deadline)
      return
    }
    const { store, control, channels, metrics } = this.#options
    const state = await store.read(channels)
    const breaker = state.breakers[message.channel]
    // A timer of an earlier opening, or one another copy already acted on: nothing left to do.
    if (breaker?.state !== 'open' || breaker.generation !== message.generation) return
    const now = this.#now()
    const openUntil = breaker.openUntil ?? now
    if (openUntil > now) {
      // SQS delays at most 15 minutes: a longer period (a Retry-After of hours) is a chain of timers.
      await control.send([{ message, delaySeconds: delaySecondsUntil(openUntil, now, 1) }])
      // Each link of the chain is a data point of the pause gauges too: a long pause stays visible between transitions.
      metrics.paused(pausedBy(state))
      return
    }
    if (await store.transition(breaker, halfOpened(breaker, now))) {
      logger.info('Breaker half-open: one probe may go', { channel: breaker.channel, generation: breaker.generation })
    }
    await this.reconcile(deadline)
  }

  /** Makes the mapping what the state says, and reports whether the consumer is paused and by whom. */
  async reconcile(deadline: number): Promise<Reconciled> {
    const { store, channels, mapping, metrics } = this.#options
    const result = await reconcile(() => store.read(channels), mapping, { deadline, now: this.#now, ...(this.#options.pollMs !== undefined && { pollMs: this.#options.pollMs }) })
    metrics.paused(result.pausedBy)
    if (result.changed) logger.info(result.enabled ? 'Consumer resumed' : 'Consumer paused', { pausedBy: result.pausedBy })
    return result
  }

  /** The operator's pause (or its end); the breakers never lift it. */
  async setOperatorPause(pause: OperatorPause, deadline: number): Promise<Reconciled> {
    await this.#options.store.setPause(pause)
    return this.reconcile(deadline)
  }
}
