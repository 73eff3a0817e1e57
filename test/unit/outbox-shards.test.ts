import { randomUUID } from 'node:crypto'
import fc from 'fast-check'
import test from 'tape'
import { eventAttributes, LEGACY_OUTBOX_KEY, outboxIndexKeys, outboxShard } from '../../src/lib/adapters/task-item.ts'
import { readOutboxShards, readRelayBatch, SettingsError } from '../../src/lib/config.ts'
import type { OutboxEvent, ParkedEvent } from '../../src/lib/tasks/outbox.ts'

/**
 * The outbox shards (docs/scale.md): a task's pending or parked item is listed
 * under one of OUTBOX_SHARDS partition keys of the sparse outbox indexes,
 * from a stable hash of its id, so that no one key takes every task write.
 */

/** Pearson's chi-square of the counts against an even spread. */
function chiSquare(counts: number[], total: number): number {
  const expected = total / counts.length
  return counts.reduce((sum, count) => sum + (count - expected) ** 2 / expected, 0)
}

/** How many of `ids` each shard gets. */
function countsOf(ids: string[], shards: number): number[] {
  const counts = Array.from({ length: shards }, () => 0)
  for (const id of ids) counts[Number(outboxShard(id, shards))]! += 1
  return counts
}

/**
 * An even spread, as a uniform draw would give it: chi-square (shards - 1
 * degrees of freedom, mean shards - 1, deviation sqrt(2 (shards - 1))) at most
 * six deviations above its mean, which a good hash misses about once in a
 * billion runs and a skewed one never meets.
 */
const isEven = (counts: number[], total: number): boolean => chiSquare(counts, total) <= counts.length - 1 + 6 * Math.sqrt(2 * (counts.length - 1))

test('every shard key is one of 0..N-1, as a string (the index declares a String key), and the same for the same id', (t) => {
  fc.assert(
    fc.property(fc.string({ minLength: 1, maxLength: 100 }), fc.integer({ min: 1, max: 256 }), (id, shards) => {
      const shard = outboxShard(id, shards)
      return typeof shard === 'string' && /^(0|[1-9]\d*)$/.test(shard) && Number(shard) < shards && outboxShard(id, shards) === shard
    }),
    { numRuns: 2000 },
  )
  t.pass('2,000 ids and shard counts: each key a whole number below the count, as a string, the same every time')
  t.equal(outboxShard('any id', 1), '0', 'one shard: every item under "0"')
  t.deepEqual(outboxIndexKeys(4), ['0', '1', '2', '3', LEGACY_OUTBOX_KEY], 'the readers ask for each shard and the key from before shards')
  t.equal(LEGACY_OUTBOX_KEY, 'yes')
  t.end()
})

test('10,000 random task ids spread evenly over the shards', (t) => {
  // Unbiased, distinct ids, as randomUUID makes them; no shrinking of 10,000 ids on a failure, just its counts.
  const ids = fc.noShrink(fc.uniqueArray(fc.noBias(fc.uuid({ version: 4 })), { minLength: 10_000, maxLength: 10_000 }))
  const run = fc.check(
    fc.property(ids, fc.integer({ min: 2, max: 64 }), (sample, shards) => {
      const counts = countsOf(sample, shards)
      return counts.every((count) => count > 0) && isEven(counts, sample.length)
    }),
    { numRuns: 12, endOnFailure: true },
  )
  const [failedIds, failedShards] = run.counterexample ?? [[], 0]
  t.notOk(run.failed, run.failed ? `uneven over ${failedShards} shards: ${JSON.stringify(countsOf(failedIds, failedShards))}` : '12 samples of 10,000 ids over 2 to 64 shards: every shard used, chi-square within bounds')
  const uuids = Array.from({ length: 10_000 }, () => randomUUID())
  const counts = countsOf(uuids, 32)
  const [min, max] = [Math.min(...counts), Math.max(...counts)]
  t.ok(isEven(counts, uuids.length) && max / min < 2, `32 shards, 10,000 ids of randomUUID: from ${min} to ${max} ids each (an even share is 312.5), chi-square ${chiSquare(counts, uuids.length).toFixed(1)}`)
  const sequential = Array.from({ length: 10_000 }, (_, index) => `task-${String(index).padStart(5, '0')}`)
  t.ok(isEven(countsOf(sequential, 32), sequential.length), 'ids that differ in a few characters only spread as evenly')
  t.end()
})

test("an item's index keys: its shard while its outbox (or parked list) holds events, nothing otherwise", (t) => {
  const task = { id: 't-1', title: 'x', isComplete: false, version: 1, createdAt: 'a', updatedAt: 'a' }
  const pending: OutboxEvent = { event: 'task_created', body: { task } }
  const parked: ParkedEvent = { ...pending, refusals: 3, reason: 'refused', parkedAt: '2026-01-01T00:00:00.000Z' }
  const placement = { taskId: 't-1', shards: 8 }
  const shard = outboxShard('t-1', 8)
  t.deepEqual(eventAttributes({ outbox: [pending], parked: [parked] }, 'now', placement), {
    outbox: [pending],
    outboxPending: shard,
    outboxSince: 'now',
    parked: [parked],
    outboxParked: shard,
    parkedSince: parked.parkedAt,
  })
  t.deepEqual(eventAttributes({ outbox: [], parked: [] }, 'now', placement), {}, 'no events: the item is in neither index')
  t.end()
})

test('OUTBOX_SHARDS: 32 by default, a whole number from 1 to 256', (t) => {
  t.equal(readOutboxShards({}), 32)
  t.equal(readOutboxShards({ OUTBOX_SHARDS: ' 64 ' }), 64)
  t.equal(readOutboxShards({ OUTBOX_SHARDS: '' }), 32, 'empty is unset')
  for (const bad of ['0', '257', '1.5', 'many', '-4']) {
    t.throws(() => readOutboxShards({ OUTBOX_SHARDS: bad }), (error: unknown) => error instanceof SettingsError && /OUTBOX_SHARDS/.test(error.message), `${bad} is refused`)
  }
  t.end()
})

test('OUTBOX_RELAY_BATCH: 100 records a relay run by default, a whole number from 1 to 1000', (t) => {
  t.equal(readRelayBatch({}), 100)
  t.equal(readRelayBatch({ OUTBOX_RELAY_BATCH: '10' }), 10)
  t.equal(readRelayBatch({ OUTBOX_RELAY_BATCH: '1000' }), 1000)
  for (const bad of ['0', '1001', '2.5', 'ten', '-1']) {
    t.throws(() => readRelayBatch({ OUTBOX_RELAY_BATCH: bad }), (error: unknown) => error instanceof SettingsError && /OUTBOX_RELAY_BATCH/.test(error.message), `${bad} is refused`)
  }
  t.end()
})
