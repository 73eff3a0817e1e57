import type { ChannelName } from '../notifications/delivery-log.ts'

/**
 * The per-second cap of a channel (NOTIFY_<CHANNEL>_MAX_PER_SECOND), shared
 * by every invocation: each call reserves a slot on one counter per channel
 * (the time the next call may go), spaced `gap` apart, then waits for it. One
 * atomic write per call, and no call ever shares a slot.
 *
 * The gap is 1000 ms / cap x 1.08: cap gaps then span 80 ms more than a
 * second, which absorbs a call that leaves up to LATE_START_MS after its slot
 * plus some jitter on the way (so cap + 1 arrivals never share a second), and
 * still drains over 92 % of the cap.
 */
export const SLOT_MARGIN = 1.08

/**
 * A caller woken this much after its slot (a busy event loop, a stalled
 * process) does not call: it would land next to the following slot's call.
 * It reserves a new slot instead, and that slot is lost to the drain.
 */
export const LATE_START_MS = 35

/** How long before its slot a caller wakes to prepare its call. */
const PREPARE_LEAD_MS = 150

export const slotGapMs = (perSecond: number): number => (1000 / perSecond) * SLOT_MARGIN

/** The shared counter of a channel's next free slot (epoch ms). */
export interface SlotCounter {
  /** Sets the next free slot to `next` if it is unset or not after `now`; false when it is later (someone holds the time). */
  claimIfFree(channel: ChannelName, now: number, next: number): Promise<boolean>
  /** Moves the next slot on by gap; resolves to its new value. */
  advance(channel: ChannelName, gapMs: number): Promise<number>
}

/** No slot this invocation can use: the next is later than it can wait for. */
export class SlotTooLateError extends Error {
  override readonly name = 'SlotTooLateError'
}

export interface PacerOptions {
  /** Calls per second, by channel; a channel without one is not paced. */
  caps: Partial<Record<ChannelName, number>>
  now?: () => number
  sleep?: (ms: number) => Promise<void>
}

const defaultSleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

/** A slot is reserved at most this often in a row: only a slot that lapsed while it was being reserved is reserved again. */
const MAX_RESERVATIONS = 5

/**
 * A free counter gives its first caller a slot this far ahead rather than
 * now: the write that claims it takes time too, and a call made after its
 * slot could land closer than the gap to the next one. (A write slower than
 * this lapses the slot, and the caller reserves again.) It is also when a
 * fresh batch is busiest: every record looks up its delivery, claims it and
 * reserves, and a first call's connection waits behind that work; a quarter
 * of a second later the first slot has the process to itself.
 */
export const CLAIM_LEAD_MS = 250

/**
 * The slot after a free counter's first is this much further on than the gap.
 * A first call opens the connection that later ones reuse (a fresh container,
 * a downstream not called for a while) and lands later after its slot than
 * they do: seen 50 to 130 ms on a busy machine, enough to put three calls in
 * one second at the downstream with the gap's 80 ms of room alone.
 */
export const FIRST_SLOT_EXTRA_MS = 150

export class Pacer {
  readonly #slots: SlotCounter
  readonly #caps: Partial<Record<ChannelName, number>>
  readonly #now: () => number
  readonly #sleep: (ms: number) => Promise<void>

  constructor(slots: SlotCounter, options: PacerOptions) {
    this.#slots = slots
    this.#caps = options.caps
    this.#now = options.now ?? Date.now
    this.#sleep = options.sleep ?? defaultSleep
  }

  paces(channel: ChannelName): boolean {
    return this.#caps[channel] !== undefined
  }

  /**
   * Reserves the channel's next slot and waits for it; resolves to the slot
   * (epoch ms; now for a channel without a cap). A slot after `latestStart`
   * (epoch ms) is not used: SlotTooLateError. `prepare` (the last look at the
   * breaker, say) runs just before the slot, not after it: I/O after the
   * lateness check would make the call late again.
   */
  async wait(channel: ChannelName, latestStart: number, prepare?: () => Promise<void>): Promise<number> {
    const cap = this.#caps[channel]
    if (cap === undefined) {
      await prepare?.()
      return this.#now()
    }
    for (let attempt = 1; ; attempt++) {
      const slot = await this.#reserve(channel, slotGapMs(cap))
      if (slot > latestStart) throw new SlotTooLateError(`The next ${channel} slot is ${slot - this.#now()} ms away, later than this invocation can wait`)
      await this.#sleepUntil(slot - PREPARE_LEAD_MS)
      await prepare?.()
      await this.#sleepUntil(slot)
      if (this.#now() - slot <= LATE_START_MS) return slot
      if (attempt >= MAX_RESERVATIONS) throw new SlotTooLateError(`No ${channel} slot after ${attempt} reservations: this caller woke too late for each`)
    }
  }

  async #sleepUntil(at: number): Promise<void> {
    const waitMs = at - this.#now()
    if (waitMs > 0) await this.#sleep(waitMs)
  }

  /**
   * The slot is just ahead of now when the counter is free (the next one then
   * FIRST_SLOT_EXTRA_MS further on), else the one the counter moved past. A
   * slot that is already over when the answer comes (the write was slow, or
   * the counter had fallen behind the clock) is not used: a call made late in
   * it could land next to the following slot's.
   */
  async #reserve(channel: ChannelName, gapMs: number): Promise<number> {
    for (let attempt = 1; ; attempt++) {
      const now = this.#now()
      const lead = Math.min(CLAIM_LEAD_MS, gapMs)
      const claimed = now + lead
      if ((await this.#slots.claimIfFree(channel, now, claimed + gapMs + FIRST_SLOT_EXTRA_MS)) && claimed >= this.#now()) return claimed
      const slot = (await this.#slots.advance(channel, gapMs)) - gapMs
      if (slot >= this.#now()) return slot
      if (attempt >= MAX_RESERVATIONS) throw new SlotTooLateError(`No ${channel} slot after ${attempt} reservations: each lapsed while it was made`)
    }
  }
}
