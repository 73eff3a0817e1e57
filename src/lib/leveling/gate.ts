import { logger } from '../log.ts'
import { DeliveryDeferredError } from '../notifications/channel.ts'
import type { ChannelGate, DeliveryAttempt } from '../notifications/channel-gate.ts'
import type { ChannelName } from '../notifications/delivery-log.ts'
import { isRetryable, retryAtOf } from '../notifications/retry.ts'
import {
  breakerIsOff,
  claimed,
  closed,
  closedBreaker,
  heldUntil,
  opened,
  passage,
  released,
  streakOpens,
  type Breaker,
  type BreakerSettings,
  type OpenCause,
} from './breaker.ts'
import type { BreakerStore, LevelingState } from './breaker-store.ts'
import { delaySecondsUntil, type ControlSender } from './control.ts'
import type { LevelingMetrics } from './metrics.ts'
import { SlotTooLateError, type Pacer } from './pacer.ts'

/**
 * Adaptive leveling at the channel: the gate every delivery passes before
 * its downstream is called. It calls when the channel's breaker is closed
 * (after the channel's rate slot, when it has a cap); holds the record back
 * (DeliveryDeferredError) while the breaker is open or its probe is out;
 * lets exactly one record through as the probe once the period is over. It
 * counts retryable failures of different notifications and opens the breaker
 * on the BREAKER_FAILURES-th, or at once on a Retry-After; the invocation
 * that wins a transition tells the control queue (reconcile, probe-due).
 *
 * A record held back is not a failure: the consumer sends its message again
 * for later and deletes this copy, so waiting spends none of its receives.
 */

export interface LevelingGateOptions {
  store: BreakerStore
  /** The configured channels: their breakers are read together. */
  channels: readonly ChannelName[]
  settings: BreakerSettings
  /** The channels' rate caps; none: no channel is paced. */
  pacer?: Pacer
  control: ControlSender
  metrics: LevelingMetrics
  /** The longest a channel's call may take, ms: a rate slot later than the invocation's deadline minus this is not used. */
  callBudgetMs: Partial<Record<ChannelName, number>>
  now?: () => number
  /** How long a read of the breakers serves later records of the container, ms. */
  cacheMs?: number
}

/** How long a record whose rate slot came too late waits before its copy is received again. */
const SLOT_RETRY_MS = 1000
/** A claim of the probe given up this often in a row (others won it): the record waits. */
const MAX_ROUNDS = 3

export class LevelingGate implements ChannelGate {
  readonly #options: LevelingGateOptions
  readonly #now: () => number
  #cache: { at: number; state: Promise<LevelingState> } | undefined

  constructor(options: LevelingGateOptions) {
    this.#options = options
    this.#now = options.now ?? Date.now
  }

  async pass(channel: ChannelName, attempt: DeliveryAttempt, call: () => Promise<void>): Promise<void> {
    if (breakerIsOff(this.#options.settings)) {
      // The breaker is off: a Retry-After still holds the message back, through its visibility (the retry scheduler).
      await this.#paced(channel, attempt)
      return call()
    }
    for (let round = 1; ; round++) {
      const breaker = await this.#breaker(channel, round > 1)
      const now = this.#now()
      const route = passage(breaker, now)
      if (route.kind === 'wait') throw this.#deferred(channel, route.until, `its breaker is ${breaker.state}`)
      if (route.kind === 'probe') {
        const held = claimed(breaker, attempt.messageId, now, attempt.deadline)
        if (await this.#options.store.transition(breaker, held)) return this.#probe(held, attempt, call)
        if (round >= MAX_ROUNDS) throw this.#deferred(channel, heldUntil(held, now), 'another record holds its probe')
        continue
      }
      // A breaker may open while this record waits for its slot: the last look is taken just before the slot.
      let current = breaker
      await this.#paced(channel, attempt, async () => {
        current = await this.#breaker(channel)
      })
      if (passage(current, this.#now()).kind !== 'call') continue
      return this.#call(current, attempt, call)
    }
  }

  /** The breaker is closed: call, and keep the streak (reset on success, one more on a retryable failure). */
  async #call(breaker: Breaker, attempt: DeliveryAttempt, call: () => Promise<void>): Promise<void> {
    try {
      await call()
    } catch (error) {
      return this.#failedWhileClosed(breaker, attempt, error)
    }
    // Only when this container saw a streak: a success costs no write otherwise.
    if (breaker.failing.length === 0) return
    await this.#options.store.clearFailures(breaker.channel, breaker.generation).catch((error: unknown) => {
      logger.warn('Could not reset the breaker streak', { channel: breaker.channel, error: error as Error })
    })
    this.#forget()
  }

  async #failedWhileClosed(breaker: Breaker, attempt: DeliveryAttempt, error: unknown): Promise<never> {
    // A refusal no retry changes is the message's own: the downstream answered.
    if (!isRetryable(error)) throw error
    const { store, settings } = this.#options
    const now = this.#now()
    const retryAt = retryAtOf(error)
    let cause: OpenCause | undefined
    let current = breaker
    if (retryAt !== undefined && retryAt > now) {
      cause = { kind: 'retry-after', retryAt }
    } else {
      let streak = await store.addFailure(breaker.channel, breaker.generation, attempt.notificationId)
      if (streak === undefined) {
        // This container's copy was stale (the breaker opened and closed since): count on the current one.
        current = await this.#breaker(breaker.channel, true)
        if (current.state === 'closed') streak = await store.addFailure(current.channel, current.generation, attempt.notificationId)
      }
      if (streak !== undefined && streakOpens(streak, settings)) cause = { kind: 'streak' }
      else if (streak !== undefined) throw error
    }
    if (cause) {
      const next = opened(current, now, settings, cause)
      if (await this.#open(current, next)) throw this.#deferred(breaker.channel, next.openUntil ?? now, 'its breaker opened', error)
    }
    // Another invocation moved the breaker first: when it is no longer closed, this record waits with the others.
    const fresh = await this.#breaker(breaker.channel, true)
    if (fresh.state !== 'closed') throw this.#deferred(breaker.channel, heldUntil(fresh, this.#now()), `its breaker is ${fresh.state}`, error)
    throw error
  }

  /** This record holds the probe: its outcome closes the breaker or opens it again for a longer period. */
  async #probe(held: Breaker, attempt: DeliveryAttempt, call: () => Promise<void>): Promise<void> {
    const { store, settings } = this.#options
    try {
      await this.#paced(held.channel, attempt)
    } catch (error) {
      await store.transition(held, released(held)).catch(() => false)
      throw error
    }
    try {
      await call()
    } catch (error) {
      if (!isRetryable(error)) {
        // The downstream answered: it is up, whatever it thought of this message.
        await this.#close(held)
        throw error
      }
      const now = this.#now()
      const next = opened(held, now, settings, { kind: 'probe-failed', retryAt: retryAtOf(error) })
      // The probe's own message waits like the others: probes never spend its receives.
      if (await this.#open(held, next)) throw this.#deferred(held.channel, next.openUntil ?? now, 'its probe failed', error)
      const fresh = await this.#breaker(held.channel, true)
      throw this.#deferred(held.channel, heldUntil(fresh, now), `its breaker is ${fresh.state}`, error)
    }
    await this.#close(held)
  }

  async #open(expected: Breaker, next: Breaker): Promise<boolean> {
    const { store, control, metrics } = this.#options
    if (!(await store.transition(expected, next))) return false
    this.#forget()
    const now = this.#now()
    const openUntil = next.openUntil ?? now
    logger.warn('Breaker opened', { channel: next.channel, reason: next.reason, openUntil: new Date(openUntil).toISOString(), openSeconds: next.openSeconds, generation: next.generation })
    metrics.breakerOpened(next.channel)
    try {
      await control.send([
        { message: { type: 'reconcile' }, delaySeconds: 0 },
        { message: { type: 'probe-due', channel: next.channel, generation: next.generation }, delaySeconds: delaySecondsUntil(openUntil, now) },
      ])
    } catch (error) {
      // The consumer keeps being invoked then, and its records wait: once the period is over one of them probes.
      logger.error('Could not tell the control queue that a breaker opened', { channel: next.channel, error: error as Error })
    }
    return true
  }

  async #close(held: Breaker): Promise<void> {
    const { store, control, metrics, settings } = this.#options
    const next = closed(held, this.#now(), settings)
    if (!(await store.transition(held, next))) return
    this.#forget()
    logger.info('Breaker closed', { channel: held.channel, generation: held.generation })
    metrics.breakerClosed(held.channel)
    // The mapping was enabled for the probe already; the reconcile re-reads (another breaker, the operator) and says so.
    await control.send([{ message: { type: 'reconcile' }, delaySeconds: 0 }]).catch((error: unknown) => {
      logger.error('Could not tell the control queue that a breaker closed', { channel: held.channel, error: error as Error })
    })
  }

  /** Waits for the channel's rate slot (running `prepare` just before it); one too late for this invocation holds the record back a moment. */
  async #paced(channel: ChannelName, attempt: DeliveryAttempt, prepare?: () => Promise<void>): Promise<void> {
    const { pacer, callBudgetMs } = this.#options
    if (!pacer?.paces(channel)) {
      await prepare?.()
      return
    }
    try {
      await pacer.wait(channel, attempt.deadline - (callBudgetMs[channel] ?? 0), prepare)
    } catch (error) {
      if (error instanceof SlotTooLateError) throw this.#deferred(channel, this.#now() + SLOT_RETRY_MS, 'its next rate slot is too late', error)
      throw error
    }
  }

  #deferred(channel: ChannelName, until: number, why: string, cause?: unknown): DeliveryDeferredError {
    this.#options.metrics.deferred(channel)
    return new DeliveryDeferredError(`${channel} waits until ${new Date(until).toISOString()}: ${why}`, until, cause === undefined ? undefined : { cause })
  }

  /** The channel's breaker: this container's read of the last `cacheMs` (one read for a whole batch), or a fresh one. */
  async #breaker(channel: ChannelName, fresh = false): Promise<Breaker> {
    const { store, channels, settings, cacheMs = 1000 } = this.#options
    const now = this.#now()
    let entry = this.#cache
    if (fresh || !entry || now - entry.at >= cacheMs) {
      const read = { at: now, state: store.read(channels) }
      read.state.catch(() => {
        if (this.#cache === read) this.#cache = undefined
      })
      this.#cache = entry = read
    }
    const state = await entry.state
    return state.breakers[channel] ?? closedBreaker(channel, settings)
  }

  /** After a transition of its own the container reads again rather than guess. */
  #forget(): void {
    this.#cache = undefined
  }
}
