import test from 'tape'
import { CLAIM_LEAD_MS, FIRST_SLOT_EXTRA_MS, LATE_START_MS, Pacer, SlotTooLateError, slotGapMs, type SlotCounter } from '../../src/lib/leveling/pacer.ts'
import type { ChannelName } from '../../src/lib/notifications/delivery-log.ts'
import { mostInWindow } from '../../scripts/lib/harness/index.ts'

/**
 * The rate cap's slots, shared by concurrent invocations through one counter
 * per channel, on a virtual clock: every store call takes a random time (the
 * network), during which others run, and the counter applies each write
 * atomically when it lands, as DynamoDB does. What counts is when each call
 * really starts.
 */

/** Discrete-event time: sleeps are timers on a virtual clock that `run` moves from one to the next. */
class VirtualTime {
  now = 1_000_000
  readonly #timers: { at: number; resolve: () => void }[] = []
  readonly read = (): number => this.now
  /** Extra time a sleep may overrun by (a busy event loop wakes timers late); none unless a test sets it. */
  overrun: () => number = () => 0
  readonly sleep = (ms: number): Promise<void> =>
    new Promise((resolve) => {
      this.#timers.push({ at: this.now + Math.max(0, ms) + this.overrun(), resolve })
    })

  /** Runs until `done` settles, moving the clock to each next timer once nothing else can run. */
  async run<T>(done: Promise<T>): Promise<T> {
    let finished = false
    void done.finally(() => (finished = true))
    while (!finished) {
      await new Promise((resolve) => setImmediate(resolve))
      if (finished) break
      this.#timers.sort((a, b) => a.at - b.at)
      const next = this.#timers.shift()
      if (!next) throw new Error('nothing left to run, and the callers have not finished')
      this.now = Math.max(this.now, next.at)
      next.resolve()
    }
    return done
  }
}

/** Mulberry32: the same "random" latencies on every run. */
function seeded(seed: number): () => number {
  let state = seed
  return () => {
    state = (state + 0x6d2b79f5) | 0
    let value = Math.imul(state ^ (state >>> 15), 1 | state)
    value = (value + Math.imul(value ^ (value >>> 7), 61 | value)) ^ value
    return ((value ^ (value >>> 14)) >>> 0) / 4_294_967_296
  }
}

/** The counter as DynamoDB keeps it: each write waits out its latency, then applies atomically. */
class LatentCounter implements SlotCounter {
  readonly #next = new Map<ChannelName, number>()
  readonly #time: VirtualTime
  readonly #latency: () => number

  constructor(time: VirtualTime, latency: () => number) {
    this.#time = time
    this.#latency = latency
  }

  async claimIfFree(channel: ChannelName, now: number, next: number): Promise<boolean> {
    await this.#time.sleep(this.#latency())
    const current = this.#next.get(channel)
    if (current !== undefined && current > now) return false
    this.#next.set(channel, next)
    return true
  }

  async advance(channel: ChannelName, gapMs: number): Promise<number> {
    await this.#time.sleep(this.#latency())
    const next = (this.#next.get(channel) ?? 0) + gapMs
    this.#next.set(channel, next)
    return next
  }
}

/**
 * `callers` calls, all at once, or (with `spreadMs`) each arriving at a random
 * moment within that time: a trickle keeps the counter near the clock, where
 * slow writes make slots lapse.
 */
async function burst(options: { cap: number; callers: number; maxLatencyMs: number; seed: number; latestStartMs?: number; spreadMs?: number; maxOverrunMs?: number; maxPrepareMs?: number }) {
  const time = new VirtualTime()
  const random = seeded(options.seed)
  if (options.maxOverrunMs) time.overrun = () => (random() < 0.3 ? random() * (options.maxOverrunMs ?? 0) : 0)
  const counter = new LatentCounter(time, () => random() * options.maxLatencyMs)
  const pacer = new Pacer(counter, { caps: { webhook: options.cap }, now: time.read, sleep: time.sleep })
  const starts: number[] = []
  let tooLate = 0
  const began = time.now
  const prepared: number[] = []
  const prepare = options.maxPrepareMs === undefined ? undefined : async () => {
    // The last look at the breaker: a read that takes its time.
    await time.sleep(random() * (options.maxPrepareMs ?? 0))
    prepared.push(time.now)
  }
  const calls = Array.from({ length: options.callers }, async () => {
    if (options.spreadMs) await time.sleep(random() * options.spreadMs)
    try {
      await pacer.wait('webhook', began + (options.latestStartMs ?? Number.POSITIVE_INFINITY), prepare)
      // The call goes when the pacer lets it: that moment, on the virtual clock.
      starts.push(time.now)
    } catch (error) {
      if (!(error instanceof SlotTooLateError)) throw error
      tooLate++
    }
  })
  await time.run(Promise.all(calls))
  return { starts, tooLate, began, prepared }
}

test('concurrent callers never start two calls closer than the gap, so no one-second window holds more than the cap', async (t) => {
  for (const seed of [1, 2, 3, 4, 5, 6, 7, 8]) {
    const cap = 10
    const { starts } = await burst({ cap, callers: 40, maxLatencyMs: 150, seed })
    const sorted = [...starts].sort((a, b) => a - b)
    const closest = Math.min(...sorted.slice(1).map((start, index) => start - (sorted[index] ?? 0)))
    t.equal(starts.length, 40, `seed ${seed}: every caller got a slot`)
    t.ok(closest >= slotGapMs(cap) - 1e-9, `seed ${seed}: the closest two starts are ${closest.toFixed(1)} ms apart (gap ${slotGapMs(cap).toFixed(1)} ms)`)
    t.ok(mostInWindow(starts, 1000) <= cap, `seed ${seed}: at most ${cap} in any second (${mostInWindow(starts, 1000)})`)
  }
})

test('callers arriving one by one: a slot that lapsed while its write was on the way is not used', async (t) => {
  for (const seed of [21, 22, 23, 24, 25, 26]) {
    const cap = 10
    const { starts } = await burst({ cap, callers: 30, maxLatencyMs: 150, seed, spreadMs: 3000 })
    const sorted = [...starts].sort((a, b) => a - b)
    const closest = Math.min(...sorted.slice(1).map((start, index) => start - (sorted[index] ?? 0)))
    t.ok(closest >= slotGapMs(cap) - 1e-9, `seed ${seed}: the closest two starts are ${closest.toFixed(1)} ms apart (gap ${slotGapMs(cap).toFixed(1)} ms)`)
  }
})

test('a caller woken late after its slot does not call in it: it reserves again, so late wake-ups never crowd a second', async (t) => {
  for (const seed of [31, 32, 33, 34, 35, 36]) {
    const cap = 2
    const { starts, tooLate } = await burst({ cap, callers: 20, maxLatencyMs: 20, seed, maxOverrunMs: 400 })
    const sorted = [...starts].sort((a, b) => a - b)
    const closest = Math.min(...sorted.slice(1).map((start, index) => start - (sorted[index] ?? 0)))
    // One woken late at every try is told so (its record waits for a later invocation): never a call out of its slot.
    t.ok(starts.length + tooLate === 20 && starts.length >= 18, `seed ${seed}: ${starts.length} callers called, ${tooLate} were told to wait`)
    t.ok(closest >= slotGapMs(cap) - LATE_START_MS - 1e-9, `seed ${seed}: the closest two starts are ${closest.toFixed(1)} ms apart (gap ${slotGapMs(cap)} ms less ${LATE_START_MS} ms of lateness)`)
    t.ok(mostInWindow(starts, 1000) <= cap, `seed ${seed}: at most ${cap} in any second (${mostInWindow(starts, 1000)})`)
  }
})

test('the caller prepares its call (the last look at the breaker) before its slot, so even a slow read never makes the call late', async (t) => {
  for (const seed of [41, 42, 43]) {
    const cap = 5
    const { starts, tooLate, prepared } = await burst({ cap, callers: 25, maxLatencyMs: 20, seed, maxPrepareMs: 300 })
    const sorted = [...starts].sort((a, b) => a - b)
    const closest = Math.min(...sorted.slice(1).map((start, index) => start - (sorted[index] ?? 0)))
    t.ok(prepared.length >= starts.length, `seed ${seed}: every call was prepared first (${prepared.length} preparations, ${starts.length} calls, ${tooLate} told to wait)`)
    t.ok(closest >= slotGapMs(cap) - LATE_START_MS - 1e-9, `seed ${seed}: the closest two starts are ${closest.toFixed(1)} ms apart`)
    t.ok(mostInWindow(starts, 1000) <= cap, `seed ${seed}: at most ${cap} in any second (${mostInWindow(starts, 1000)})`)
  }
})

test('with a backlog the calls drain at over 90 % of the cap', async (t) => {
  const cap = 2
  const { starts } = await burst({ cap, callers: 20, maxLatencyMs: 20, seed: 11 })
  const sorted = [...starts].sort((a, b) => a - b)
  const spanSeconds = ((sorted.at(-1) ?? 0) - (sorted[0] ?? 0)) / 1000
  const rate = (sorted.length - 1) / spanSeconds
  t.ok(rate >= 0.9 * cap && rate <= cap, `${rate.toFixed(2)} calls/s against a cap of ${cap}`)
  t.ok(mostInWindow(starts, 1000) <= cap, 'and never more than the cap in a second')
})

test('a slot later than the caller can wait is not used: the caller is told, not kept past its deadline', async (t) => {
  // The first slot of a free counter is CLAIM_LEAD_MS ahead, the second a gap and FIRST_SLOT_EXTRA_MS after it; the latest
  // start lets three slots in, not a fourth.
  const second = CLAIM_LEAD_MS + slotGapMs(2) + FIRST_SLOT_EXTRA_MS
  const latest = second + slotGapMs(2) + 70
  const { starts, tooLate, began } = await burst({ cap: 2, callers: 6, maxLatencyMs: 5, seed: 3, latestStartMs: latest })
  t.equal(starts.length, 3, `the slots at ${CLAIM_LEAD_MS}, ${second} and ${second + slotGapMs(2)} ms are used`)
  t.equal(tooLate, 3, 'the later three are refused')
  t.ok(starts.every((start) => start <= began + latest + 10), 'nobody started after its latest start')
})

test("a free counter's first call has room to land late: its connection is new, the next calls reuse it", async (t) => {
  for (const seed of [21, 22, 23]) {
    const cap = 2
    const { starts } = await burst({ cap, callers: 6, maxLatencyMs: 5, seed })
    const sorted = [...starts].sort((a, b) => a - b)
    const firstGap = (sorted[1] ?? 0) - (sorted[0] ?? 0)
    t.ok(firstGap >= slotGapMs(cap) + FIRST_SLOT_EXTRA_MS - 1e-9, `seed ${seed}: the second call ${firstGap.toFixed(0)} ms after the first (a gap and ${FIRST_SLOT_EXTRA_MS} ms)`)
    // The first call landing 200 ms late at the downstream (a connection opened on a busy machine), the others on time.
    const arrivals = sorted.map((start, index) => (index === 0 ? start + 200 : start))
    t.ok(mostInWindow(arrivals, 1000) <= cap, `seed ${seed}: still no second with more than ${cap} arrivals`)
  }
})

test('the slot spacing is 1000 / cap x 1.08', (t) => {
  t.equal(slotGapMs(2), 540)
  t.ok(Math.abs(slotGapMs(20) - 54) < 1e-9)
  t.equal(slotGapMs(0.5), 2160, 'a decimal cap: one call every 2.16 s')
  t.equal(mostInWindow([0, 999, 1000, 1500, 1999], 1000), 3, 'the window counter itself: 1000, 1500 and 1999 share a second')
  t.end()
})
