import { createHash } from 'node:crypto'
import type { IncomingHttpHeaders } from 'node:http'
import type { WebhookBehaviour, WebhookCall } from './webhook-receiver.ts'

/**
 * A flaky, sometimes slow downstream for the soak run, as the behaviour of a
 * WebhookReceiver: each call is refused (503) at `failRate`, slow (a delay in
 * the slow range) at `slowRate`, and during a brownout window every call takes
 * at least `brownoutMs`. All draws come from one seed, so a run says which it used.
 *
 * WebhookReceiver asks `status()` and then, in the same tick, reads `delayMs`:
 * the delay chosen for a call is handed over through that getter.
 *
 * Slow delays skip the band just below the consumer's webhook timeout, so each
 * answer is plainly in time (the consumer saw the 2xx) or late (it had given up
 * and will try again; the spec's unavoidable at-least-once edge).
 */
export const LATE_GUARD_MS = 400

export interface CallNote {
  seq: number
  notificationId: string
  taskId: string
  status: number
  delayMs: number
  /** Answered at or after the consumer's timeout: the consumer never saw this answer. */
  late: boolean
  brownout: boolean
  receivedAt: number
}

export interface DownstreamOptions {
  seed: number
  failRate: number
  slowRate: number
  slowMinMs: number
  slowMaxMs: number
  brownoutMs: number
  webhookTimeoutMs: number
}

/** Uniform numbers in [0, 1) from a seed and a counter: sha256("<seed>:<n>") read as eight 32-bit words. */
export class SeededRandom {
  readonly #seed: number
  #counter = 0
  #words: number[] = []

  constructor(seed: number) {
    this.#seed = seed
  }

  next(): number {
    if (this.#words.length === 0) {
      const digest = createHash('sha256').update(`${this.#seed}:${this.#counter++}`).digest()
      for (let offset = 0; offset < digest.length; offset += 4) this.#words.push(digest.readUInt32BE(offset))
    }
    return (this.#words.shift() as number) / 2 ** 32
  }
}

export class SoakDownstream implements WebhookBehaviour {
  /** Every call, in the order received, noted when it arrived. */
  readonly notes: CallNote[] = []
  readonly #byHeaders = new WeakMap<IncomingHttpHeaders, CallNote>()
  readonly #random: SeededRandom
  readonly #options: DownstreamOptions
  #windows: { from: number; to: number }[] = []
  #nextDelay = 0

  constructor(options: DownstreamOptions) {
    this.#options = options
    this.#random = new SeededRandom(options.seed)
  }

  /** Brownout windows, in epoch ms. */
  set brownoutWindows(windows: { from: number; to: number }[]) {
    this.#windows = windows
  }

  get brownoutWindows(): { from: number; to: number }[] {
    return this.#windows
  }

  /** The delay of the call whose status was just chosen. */
  get delayMs(): number {
    return this.#nextDelay
  }

  /** The slow range without the band [timeout - guard, timeout), so no answer's fate is a close call. */
  slowRanges(): [number, number][] {
    const { slowMinMs, slowMaxMs, webhookTimeoutMs } = this.#options
    const bandFrom = webhookTimeoutMs - LATE_GUARD_MS
    const ranges: [number, number][] = []
    if (slowMinMs < bandFrom) ranges.push([slowMinMs, Math.min(slowMaxMs, bandFrom)])
    if (slowMaxMs >= webhookTimeoutMs) ranges.push([Math.max(slowMinMs, webhookTimeoutMs), slowMaxMs])
    return ranges.length ? ranges : [[slowMinMs, slowMaxMs]]
  }

  #slowDelay(draw: number): number {
    const ranges = this.slowRanges()
    const total = ranges.reduce((sum, [from, to]) => sum + (to - from), 0)
    let point = draw * total
    for (const [from, to] of ranges) {
      if (point < to - from || to === from) return Math.round(from + point)
      point -= to - from
    }
    const last = ranges[ranges.length - 1] as [number, number]
    return last[1]
  }

  inBrownout(at: number): boolean {
    return this.#windows.some((window) => at >= window.from && at < window.to)
  }

  status = (call: Omit<WebhookCall, 'status'>): number => {
    const failDraw = this.#random.next()
    const slowDraw = this.#random.next()
    const delayDraw = this.#random.next()
    const status = failDraw < this.#options.failRate ? 503 : 200
    let delayMs = slowDraw < this.#options.slowRate ? this.#slowDelay(delayDraw) : 0
    const brownout = this.inBrownout(call.receivedAt)
    if (brownout) delayMs = Math.max(delayMs, this.#options.brownoutMs)
    this.#nextDelay = delayMs
    const note: CallNote = {
      seq: this.notes.length,
      notificationId: call.body?.id ?? String(call.headers['x-notification-id'] ?? ''),
      taskId: call.body?.taskId ?? '',
      status,
      delayMs,
      late: delayMs >= this.#options.webhookTimeoutMs,
      brownout,
      receivedAt: call.receivedAt,
    }
    this.notes.push(note)
    this.#byHeaders.set(call.headers, note)
    return status
  }

  /** The note of an answered call (WebhookReceiver keeps the headers object of the call it was asked about). */
  noteOf(call: WebhookCall): CallNote | undefined {
    return this.#byHeaders.get(call.headers)
  }
}
