import test from 'tape'
import type { Accounting } from '../../bench/accounting.ts'
import { readOptions } from '../../bench/args.ts'
import { levelingMarkdown } from '../../bench/leveling-report.ts'
import { levelingTargets, outageFigures, rateFigures, type LevelingSettings, type OutageRun, type RateRun } from '../../bench/leveling-summary.ts'
import type { WebhookCall } from '../../scripts/lib/webhook-receiver.ts'

/**
 * The figures of `npm run bench -- --phases outage,rate` from runs with known
 * calls and readings: what counts as during the outage, the invocations from
 * the dashboard's counters, the time to an empty queue, the largest one-second
 * count and the drain rate, and each target met or not by its SPEC bound.
 */
const T0 = 1_000_000
const call = (at: number, status: number, id = `n${at}`): WebhookCall => ({ headers: {}, rawBody: '{}', body: { id, event: 'task_created', taskId: id, version: 1, subject: '', task: { title: '' } }, receivedAt: at, status })
const accounting = (overrides: Partial<Accounting> = {}): Accounting => ({
  accepted: 100,
  deliveredOnce: 100,
  duplicated: 0,
  duplicatedAfterTimeout: 0,
  inDlq: 0,
  stillQueued: 0,
  missing: 0,
  failedCalls: 0,
  ...overrides,
})
const SETTINGS: LevelingSettings = {
  count: 100,
  outageSeconds: 120,
  breakerFailures: 5,
  breakerOpenSeconds: 10,
  breakerMaxOpenSeconds: 20,
  retryBaseSeconds: 2,
  maxReceiveCount: 5,
  batchSize: 10,
  maxConcurrency: 2,
  rateCap: 5,
}

function outageRun(overrides: Partial<OutageRun> = {}): OutageRun {
  return {
    variant: 'breaker',
    breakerFailures: 5,
    downAt: T0,
    upAt: T0 + 120_000,
    emptyAt: T0 + 150_000,
    atDown: { at: T0, batches: 3, inFlight: 0 },
    atUp: { at: T0 + 120_000, batches: 9, inFlight: 1 },
    openings: 7,
    // Before, during (20 calls, the last 1 ms before the recovery) and after the outage.
    calls: [call(T0 - 1, 200), ...Array.from({ length: 20 }, (_, index) => call(T0 + index * 6000 + (index === 19 ? 5999 : 0), 503)), call(T0 + 120_000, 200)],
    accounting: accounting(),
    samples: [],
    ...overrides,
  }
}

test('outage figures: the calls in [down, up), the invocations started between the readings, the seconds to an empty queue', (t) => {
  const figures = outageFigures(outageRun())
  t.equal(figures.callsDuringOutage, 20, 'a call before the outage and one at the recovery are not during it')
  t.equal(figures.invocationsDuringOutage, 7, '9 finished + 1 under way at the recovery, less 3 at the start')
  t.equal(figures.recoveryToEmptySeconds, 30)
  t.equal(outageFigures(outageRun({ emptyAt: null })).recoveryToEmptySeconds, null, 'a queue that never emptied')
  t.equal(outageFigures(outageRun({ emptyAt: T0 + 100_000 })).recoveryToEmptySeconds, 0, 'empty before the recovery (everything in the DLQ): 0')
  t.end()
})

test("outage targets: the SPEC's bounds, each failing when crossed", (t) => {
  const met = (run: OutageRun): (boolean | null)[] => levelingTargets(SETTINGS, [outageFigures(run)], null).slice(0, 4).map((target) => target.met)
  t.deepEqual(met(outageRun()), [true, true, true, true], '20 calls under 5 + 2 x 10 + 7 = 32, empty in 30 s of 50, nothing lost')
  t.deepEqual(met(outageRun({ accounting: accounting({ inDlq: 1, deliveredOnce: 99 }) }))[0], false, 'one message in the DLQ')
  const tooMany = outageRun({ openings: 0, calls: Array.from({ length: 26 }, (_, index) => call(T0 + index, 503)) })
  t.deepEqual(met(tooMany)[1], false, '26 calls over 5 + 20 + 0')
  t.deepEqual(met(outageRun({ emptyAt: T0 + 120_000 + 50_001 }))[2], false, 'empty 50.001 s after the recovery, over 20 + 30')
  t.deepEqual(met(outageRun({ accounting: accounting({ duplicated: 1, deliveredOnce: 99 }) }))[3], false, 'one notification delivered twice')
  const off = levelingTargets(SETTINGS, [outageFigures(outageRun({ variant: 'no-breaker', breakerFailures: 0, accounting: accounting({ deliveredOnce: 40, inDlq: 60 }) }))], null)
  t.deepEqual(off.slice(0, 3).map((target) => target.met), [null, null, null], 'the breaker targets are not measured on a run without it')
  t.equal(off[3]?.met, true, 'with the breaker off, in the DLQ counts as accounted for')
  t.end()
})

test('rate figures: the largest count in a sliding second and the drain rate against the cap', (t) => {
  const resumedAt = T0
  // 21 calls 200 ms apart (5/s): 4 s first to last; and one before the resume, not counted.
  const steady: RateRun = { cap: 5, resumedAt, calls: [call(T0 - 500, 200), ...Array.from({ length: 21 }, (_, index) => call(T0 + index * 200, 200))], accounting: accounting(), samples: [] }
  const figures = rateFigures(steady)
  t.equal(figures.deliveries, 21)
  t.equal(figures.largestOneSecond, 5, '200 ms apart: 5 in any second (the 6th is 1000 ms after the 1st)')
  t.equal(figures.drainPerSecond, 5)
  t.deepEqual(levelingTargets(SETTINGS, [], figures).slice(-3).map((target) => target.met), [true, true, true])
  const bunched = rateFigures({ ...steady, calls: [...steady.calls, call(T0 + 50, 200)] })
  t.equal(bunched.largestOneSecond, 6, 'one more inside a second')
  t.equal(levelingTargets(SETTINGS, [], bunched).at(-3)?.met, false, 'over the cap')
  const slow = rateFigures({ ...steady, calls: Array.from({ length: 11 }, (_, index) => call(T0 + index * 250, 200)) })
  t.equal(slow.drainPerSecond, 4, '4/s')
  t.equal(levelingTargets(SETTINGS, [], slow).at(-2)?.met, false, '80 % of the cap is under 90 %')
  t.end()
})

test('the block shows both outage runs side by side, the rate, and every measured target', (t) => {
  const outage = [outageFigures(outageRun()), outageFigures(outageRun({ variant: 'no-breaker', breakerFailures: 0, openings: 0, emptyAt: T0 + 120_500, accounting: accounting({ deliveredOnce: 0, inDlq: 100 }) }))]
  const rate = rateFigures({ cap: 5, resumedAt: T0, calls: [call(T0, 200), call(T0 + 200, 200)], accounting: accounting(), samples: [] })
  const block = levelingMarkdown({ startedAt: new Date(T0).toISOString(), seconds: 600, settings: SETTINGS, outage, rate, targets: levelingTargets(SETTINGS, outage, rate) }, 'bench/leveling-chart.svg', '2 CPUs')
  t.match(block, /\| messages moved to the DLQ \| 0 \| 100 \|/, 'the DLQ, with and without the breaker')
  t.match(block, /\| time from recovery to an empty queue \| 30\.0 s \| 0\.5 s \(nothing left to deliver: 100 in the DLQ\) \|/, 'a queue emptied into the DLQ says so')
  t.match(block, /\| downstream calls during the outage \| 20 \| 20 \|/)
  t.match(block, /!\[[^\]]+\]\(bench\/leveling-chart\.svg\)/, 'the chart')
  t.match(block, /largest count in any one-second window \| 2 \(cap 5\)/)
  t.equal((block.match(/\*\*met\*\*|\*\*not met\*\*/g) ?? []).length, 8, 'eight targets measured')
  t.end()
})

test('options: the leveling phases run only when named, with their settings checked', (t) => {
  t.deepEqual([...(readOptions([])?.phases ?? [])], ['cost', 'queue', 'baseline'], 'not in the default run')
  const options = readOptions(['--phases', 'outage,rate', '--outage-seconds', '30', '--rate-cap', '2.5'])
  t.deepEqual([[...(options?.phases ?? [])], options?.outageSeconds, options?.rateCap, options?.breakerFailures], [['outage', 'rate'], 30, 2.5, 5])
  t.throws(() => readOptions(['--breaker-open-seconds', '30', '--breaker-max-open-seconds', '20']), /--breaker-max-open-seconds must be at least --breaker-open-seconds/)
  t.throws(() => readOptions(['--outage-seconds', '1.5']), /--outage-seconds must be a whole number/)
  t.end()
})
