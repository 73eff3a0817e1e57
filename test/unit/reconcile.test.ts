import fc from 'fast-check'
import test from 'tape'
import { opened, type BreakerSettings } from '../../src/lib/leveling/breaker.ts'
import { ConsumerControl } from '../../src/lib/leveling/consumer-control.ts'
import { desiredEnabled, MappingBusyError, pausedBy, reconcile, type MappingSwitch } from '../../src/lib/leveling/reconcile.ts'
import { MemoryBreakerStore, RecordingControl, RecordingLevelingMetrics } from '../helpers/memory-breaker-store.ts'

/**
 * The event source mapping follows the breakers and the operator's pause,
 * whatever order concurrent writers and a slow mapping API interleave in:
 * every writer reconciles after its write, and a reconcile ends only once the
 * mapping is where a read made after it says.
 */

const SETTINGS: BreakerSettings = { failures: 5, openSeconds: 30, maxOpenSeconds: 600 }
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

/**
 * A mapping as Lambda runs one: an update answers at once and takes effect
 * `lagMs` later (Enabling, Disabling in between), and an update made while it
 * moves is refused (ResourceInUseException).
 */
class LaggingMapping implements MappingSwitch {
  enabled = true
  moving = false
  readonly updates: boolean[] = []
  refused = 0
  readonly #lag: () => number
  readonly #callMs: () => number

  /** `callMs`: how long each API call takes to arrive, so that a reader's update may land after a later writer's. */
  constructor(lag: () => number, callMs: () => number = () => 0) {
    this.#lag = lag
    this.#callMs = callMs
  }

  async state(): Promise<string> {
    await sleep(this.#callMs())
    if (this.moving) return this.enabled ? 'Enabling' : 'Disabling'
    return this.enabled ? 'Enabled' : 'Disabled'
  }

  async setEnabled(enabled: boolean): Promise<void> {
    await sleep(this.#callMs())
    if (this.moving) {
      this.refused++
      throw new MappingBusyError('ResourceInUseException')
    }
    this.updates.push(enabled)
    this.enabled = enabled
    this.moving = true
    setTimeout(() => (this.moving = false), this.#lag())
  }

  /** Where it ends up once nothing moves any more. */
  async settled(): Promise<boolean> {
    while (this.moving) await sleep(1)
    return this.enabled
  }
}

function control(store: MemoryBreakerStore, mapping: MappingSwitch) {
  return new ConsumerControl({ store, channels: ['webhook', 'email'], mapping, control: new RecordingControl(), metrics: new RecordingLevelingMetrics(), pollMs: 2 })
}

const soon = (): number => Date.now() + 10_000

test('the desired state: enabled unless the operator paused it or a breaker is open (half-open lets the probe through)', (t) => {
  const closed = new MemoryBreakerStore(SETTINGS).breaker('webhook')
  const open = opened(closed, 0, SETTINGS, { kind: 'streak' })
  const state = (pause: 'operator' | null, breaker = closed) => ({ breakers: { webhook: breaker }, pause: { pausedBy: pause } })
  t.equal(desiredEnabled(state(null)), true)
  t.equal(pausedBy(state(null, open)), 'breaker')
  t.equal(desiredEnabled(state(null, { ...open, state: 'half-open' })), true, 'half-open: the probe needs records')
  t.equal(pausedBy(state('operator')), 'operator')
  t.equal(pausedBy(state('operator', open)), 'operator', 'the operator first: only they lift their pause')
  t.end()
})

test('a pause racing a resume ends in the state of the last write, however the calls interleave and however late the mapping applies them', async (t) => {
  await fc.assert(
    fc.asyncProperty(
      fc.record({
        pauseDelay: fc.integer({ min: 0, max: 15 }),
        resumeDelay: fc.integer({ min: 0, max: 15 }),
        lag: fc.integer({ min: 1, max: 20 }),
        callMs: fc.array(fc.integer({ min: 0, max: 25 }), { minLength: 8, maxLength: 8 }),
        storeLatency: fc.integer({ min: 0, max: 5 }),
        breakerOpen: fc.boolean(),
      }),
      async ({ pauseDelay, resumeDelay, lag, callMs, storeLatency, breakerOpen }) => {
        const store = new MemoryBreakerStore(SETTINGS)
        store.latency = () => sleep(storeLatency)
        if (breakerOpen) store.breakers.set('email', opened(store.breaker('email'), Date.now(), SETTINGS, { kind: 'streak' }))
        let call = 0
        const mapping = new LaggingMapping(() => lag, () => callMs[call++ % callMs.length] ?? 0)
        const operator = control(store, mapping)
        const pause = (async () => {
          await sleep(pauseDelay)
          await operator.setOperatorPause({ pausedBy: 'operator', pausedAt: Date.now(), by: 'alice' }, soon())
        })()
        const resume = (async () => {
          await sleep(resumeDelay)
          await operator.setOperatorPause({ pausedBy: null }, soon())
        })()
        await Promise.all([pause, resume])
        const final = await store.read(['webhook', 'email'])
        const expected = desiredEnabled(final)
        const settled = await mapping.settled()
        if (settled !== expected) throw new Error(`the store says ${expected ? 'enabled' : 'disabled'} (${store.writes.join(', ')}), the mapping ended ${settled ? 'Enabled' : 'Disabled'} after ${mapping.updates.join(', ')}`)
        if (breakerOpen && settled) throw new Error('an open breaker was lifted by a resume')
      },
    ),
    { numRuns: 40, seed: 16 },
  )
  t.pass('40 interleavings: the mapping always ends where the last write says')
})

test('a breaker opening while the operator resumes: the consumer stays paused by the breaker', async (t) => {
  const store = new MemoryBreakerStore(SETTINGS)
  const mapping = new LaggingMapping(() => 10)
  const consumer = control(store, mapping)
  await consumer.setOperatorPause({ pausedBy: 'operator', pausedAt: Date.now(), by: 'alice' }, soon())
  t.equal(await mapping.settled(), false, 'paused by the operator')
  store.breakers.set('webhook', opened(store.breaker('webhook'), Date.now(), SETTINGS, { kind: 'streak' }))
  const [resumed] = await Promise.all([consumer.setOperatorPause({ pausedBy: null }, soon()), consumer.reconcile(soon())])
  t.equal(resumed.pausedBy, 'breaker')
  t.equal(await mapping.settled(), false, 'the open breaker keeps it paused')
})

test('a reconcile waits for a mapping that is still moving the other way, then turns it', async (t) => {
  const store = new MemoryBreakerStore(SETTINGS)
  const mapping = new LaggingMapping(() => 60)
  await mapping.setEnabled(false)
  t.equal(await mapping.state(), 'Disabling')
  const result = await reconcile(() => store.read(['webhook']), mapping, { deadline: soon(), pollMs: 5 })
  t.deepEqual([result.enabled, result.changed], [true, true])
  t.deepEqual(mapping.updates, [false, true], 'one update once it had settled')
  t.equal(mapping.refused, 0, 'none made while it moved (Lambda would refuse it)')
  t.equal(await mapping.settled(), true)
})

test('a mapping that never settles makes the reconcile give up at its deadline, for SQS to retry the message', async (t) => {
  const store = new MemoryBreakerStore(SETTINGS)
  const stuck: MappingSwitch = { state: async () => 'Updating', setEnabled: async () => undefined }
  const error = await reconcile(() => store.read(['webhook']), stuck, { deadline: Date.now() + 50, pollMs: 5 }).catch((failure: unknown) => failure)
  t.ok(error instanceof Error && error.name === 'ReconcileTimeoutError', 'ReconcileTimeoutError')
})

test('probe-due: early, it sends itself again for the time left (900 s at most); due, it half-opens that opening and resumes the consumer; a stale one does nothing', async (t) => {
  let now = Date.parse('2030-01-01T00:00:00.000Z')
  const store = new MemoryBreakerStore(SETTINGS)
  const mapping = new LaggingMapping(() => 1)
  await mapping.setEnabled(false)
  const sent = new RecordingControl()
  const metrics = new RecordingLevelingMetrics()
  const consumer = new ConsumerControl({ store, channels: ['webhook'], mapping, control: sent, metrics, now: () => now, pollMs: 2 })
  const open = opened(store.breaker('webhook'), now, SETTINGS, { kind: 'retry-after', retryAt: now + 3600_000 })
  store.breakers.set('webhook', open)
  const due = { type: 'probe-due', channel: 'webhook', generation: open.generation } as const

  await consumer.handle(due, now + 10_000)
  t.deepEqual(sent.sent, [{ message: due, delaySeconds: 900 }], 'an hour left: the next link of the chain, in 900 s')
  t.deepEqual(metrics.events, ['paused breaker'], 'and a data point of the pause gauges')
  now += 3600_000 - 2500
  await consumer.handle(due, now + 10_000)
  t.deepEqual(sent.sent.at(-1), { message: due, delaySeconds: 3 }, '2.5 s left: again in 3 s')
  t.equal(store.breaker('webhook').state, 'open', 'not yet half-open')

  await consumer.handle({ ...due, generation: open.generation - 1 }, now + 10_000)
  t.equal(sent.sent.length, 2, 'a timer of an earlier opening is ignored')

  now += 2500
  await consumer.handle(due, now + 10_000)
  t.equal(store.breaker('webhook').state, 'half-open', 'due: half-open, for one probe')
  t.equal(await mapping.settled(), true, 'and the consumer resumed for it')
  t.equal(metrics.events.at(-1), 'paused null', 'running again')
})
