import test from 'tape'
import { PowertoolsRelayMetrics, RELAY_METRICS } from '../../src/lib/adapters/powertools-relay-metrics.ts'
import { type EventPublisher, PublishRefusedError, type TaskEvent } from '../../src/lib/messages/contract.ts'
import { appendEvent, eventVersion, MAX_REFUSALS, type OutboxEvent, type ParkedEvent, retryParked, type TaskEvents } from '../../src/lib/tasks/outbox.ts'
import { type RelayMetrics, TaskService } from '../../src/lib/tasks/service.ts'
import type { Task } from '../../src/lib/tasks/task.ts'
import { MemoryTaskStore } from '../helpers/memory-task-store.ts'

/**
 * The outbox as pure logic: the merge rule that keeps it bounded, and the
 * relay that isolates, parks and retries events the queue refuses, stops at an
 * unreachable queue and ends before its deadline. In-memory store, publisher
 * and metrics.
 */

const task = (version: number, title = `v${version}`): Task => ({ id: 't1', title, isComplete: false, version, createdAt: '2025-01-01T00:00:00.000Z', updatedAt: `2025-01-01T00:00:${String(version).padStart(2, '0')}.000Z` })
const created = (t: Task): TaskEvent => ({ event: 'task_created', body: { task: t } })
const updated = (from: Task, to: Task): TaskEvent => ({ event: 'task_updated', body: { oldTask: from, newTask: to } })
const deleted = (t: Task): TaskEvent => ({ event: 'task_deleted', body: { task: t, deletedAt: '2025-01-02T00:00:00.000Z' } })
const ids = (outbox: readonly TaskEvent[]): string[] => outbox.map((event) => `${event.event}:${eventVersion(event)}`)

test('merge rule: consecutive updates merge, first oldTask and last newTask', (t) => {
  let outbox: OutboxEvent[] = appendEvent([], created(task(1)))
  for (let version = 2; version <= 60; version++) outbox = appendEvent(outbox, updated(task(version - 1), task(version)))
  t.deepEqual(ids(outbox), ['task_created:1', 'task_updated:60'], 'one creation, one update carrying the last version (its notification id)')
  const update = outbox[1]
  t.deepEqual(update?.event === 'task_updated' && [update.body.oldTask.version, update.body.newTask.version], [1, 60], 'from the first old task to the last new one')
  t.deepEqual(outbox[0], created(task(1)), 'the creation is untouched')
  t.end()
})

test('merge rule: creations and deletions are never merged away', (t) => {
  const afterCreate = appendEvent([created(task(1))], updated(task(1), task(2)))
  t.deepEqual(ids(afterCreate), ['task_created:1', 'task_updated:2'], 'an update after a creation is appended')
  const withDelete = appendEvent(appendEvent(afterCreate, updated(task(2), task(3))), deleted(task(3)))
  t.deepEqual(ids(withDelete), ['task_created:1', 'task_updated:3', 'task_deleted:3'], 'a delete after updates keeps the merged update and adds itself')
  t.deepEqual(ids(appendEvent([deleted(task(3))], updated(task(3), task(4)))), ['task_deleted:3', 'task_updated:4'], 'an update does not merge into a deletion')
  t.deepEqual(ids(appendEvent([updated(task(1), task(2))], created(task(1)))), ['task_updated:2', 'task_created:1'], 'nor a creation into an update')
  t.end()
})

test('merge rule: a merged update keeps the refusals its old task earned', (t) => {
  const outbox = appendEvent([{ ...updated(task(1), task(2)), refusals: 2 }], updated(task(2), task(3)))
  t.equal(outbox[0]?.refusals, 2)
  t.equal(appendEvent([updated(task(1), task(2))], updated(task(2), task(3)))[0]?.refusals, undefined, 'none counted, none added')
  t.end()
})

test('retry: parked events go back first, in order, with refusals reset; the outbox keeps its own after them', (t) => {
  const park = (event: TaskEvent, at: string): ParkedEvent => ({ ...event, refusals: 3, reason: 'refused', parkedAt: at })
  const events: TaskEvents = { outbox: [updated(task(2), task(3))], parked: [park(created(task(1)), 'a'), park(updated(task(1), task(2)), 'b')] }
  const retried = retryParked(events)
  t.deepEqual(retried.parked, [])
  t.deepEqual(retried.outbox, [created(task(1)), updated(task(1), task(2)), updated(task(2), task(3))], 'no refusals, reasons or times left; not merged')
  t.end()
})

/** A queue that is up, down, or refuses the events `refuses` picks; `onPublish` lets a test move a clock. */
class MemoryQueue implements EventPublisher {
  readonly published: string[] = []
  readonly attempts: string[] = []
  down = false
  refuses: (event: TaskEvent) => boolean = () => false
  onPublish: () => void = () => undefined

  async publish(event: TaskEvent): Promise<void> {
    const id = `${event.event}:${eventVersion(event)}:${event.event === 'task_updated' ? event.body.newTask.title : event.body.task.title}`
    this.attempts.push(id)
    this.onPublish()
    if (this.down) throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9324'), { code: 'ECONNREFUSED' })
    if (this.refuses(event)) throw new PublishRefusedError('InvalidMessageContents: Invalid characters found')
    this.published.push(id)
  }
}

class MemoryMetrics implements RelayMetrics {
  readonly parked: ParkedEvent[] = []
  eventParked(event: ParkedEvent): void {
    this.parked.push(event)
  }
}

function setup() {
  const store = new MemoryTaskStore()
  const queue = new MemoryQueue()
  const metrics = new MemoryMetrics()
  let n = 0
  const service = new TaskService(store, queue, { metrics, newId: () => `task-${++n}`, now: () => '2025-01-01T00:00:00.000Z' })
  return { store, queue, metrics, service }
}

/** The caller every task here belongs to; who may see what is test/unit/tenancy.test.ts's business. */
const OWNER = 'alice'

/** The input of a create or replace: title and what else differs. */
const input = (title: string, detail?: string) => ({ title, detail, dueAt: undefined, isComplete: false })

const isPoison = (event: TaskEvent): boolean => event.event === 'task_created' && event.body.task.title === 'poison'

test('the service bounds the outbox of a task written over and over while the queue is down', async (t) => {
  const { store, queue, service } = setup()
  queue.down = true
  const { id } = await service.create(OWNER, input('first'))
  for (let i = 1; i <= 60; i++) await service.replace(OWNER, id, input(`title ${i}`, 'x'.repeat(1000)))
  const record = await store.get(id)
  t.deepEqual(record && ids(record.outbox), ['task_created:1', 'task_updated:61'])
  t.ok(JSON.stringify(record).length < 10_000, `the record holds ${JSON.stringify(record).length} characters`)
  queue.down = false
  await service.relay()
  t.deepEqual(queue.published, ['task_created:1:first', 'task_updated:61:title 60'], 'the created event and one update with the latest state')
  t.deepEqual((await store.get(id))?.outbox, [], 'then cleared')
})

test('relay: a refused event is parked after exactly 3 runs; the rest of its outbox and the other tasks go on', async (t) => {
  const { store, queue, metrics, service } = setup()
  queue.down = true
  const poison = await service.create(OWNER, input('poison'))
  await service.replace(OWNER, poison.id, input('renamed'))
  const others = [await service.create(OWNER, input('fine 1')), await service.create(OWNER, input('fine 2'))]
  queue.down = false
  queue.refuses = isPoison

  for (let run = 1; run < MAX_REFUSALS; run++) {
    const report = await service.relay()
    t.deepEqual([report.refused, report.parked, report.stoppedBy], [1, 0, undefined], `run ${run}: one refusal counted, the run goes on`)
    t.equal((await store.get(poison.id))?.outbox[0]?.refusals, run, `run ${run}: the refusal is stored on the event`)
    t.deepEqual((await store.get(poison.id))?.parked, [], 'nothing parked yet')
  }
  t.deepEqual(queue.published, ['task_created:1:fine 1', 'task_created:1:fine 2'], "the other tasks' events went out on the first run")
  t.notOk(queue.published.some((id) => id.startsWith('task_updated')), "the poisoned task's update waits behind its refused creation")
  for (const other of others) t.deepEqual((await store.get(other.id))?.outbox, [], `${other.title}: cleared`)

  const third = await service.relay()
  t.deepEqual([third.refused, third.parked], [0, 1], 'the third refusal parks it')
  const record = await store.get(poison.id)
  t.deepEqual(record?.outbox, [], 'out of the outbox')
  t.deepEqual(
    record?.parked.map((event) => [event.event, eventVersion(event), event.refusals, event.reason, event.parkedAt]),
    [['task_created', 1, 3, 'InvalidMessageContents: Invalid characters found', '2025-01-01T00:00:00.000Z']],
    'parked with its refusals, reason and time',
  )
  t.equal(queue.published.at(-1), 'task_updated:2:renamed', 'the rest of its outbox went out in the same run')
  t.deepEqual(metrics.parked.map((event) => event.event), ['task_created'], 'reported once to the metrics')
  t.deepEqual(await store.pending(100), [], 'nothing pending: the next run has nothing to do')
  t.equal((await service.relay()).records, 0)

  await store.settleOutbox(record!, retryParked(record!))
  queue.refuses = () => false
  const retried = await service.relay()
  t.deepEqual([retried.published, retried.parked], [1, 0], 'retried by an operator once the queue accepts it: published')
  t.deepEqual(await store.get(poison.id), { ...record, outbox: [], parked: [] }, 'and cleared')
})

test('relay: refusals are counted by the relay only, never by a write', async (t) => {
  const { store, queue, service } = setup()
  queue.refuses = isPoison
  const poison = await service.create(OWNER, input('poison'))
  await service.replace(OWNER, poison.id, input('poison still'))
  const record = await store.get(poison.id)
  t.deepEqual(record?.outbox.map((event) => event.refusals), [undefined, undefined], 'the writes tried and left both events as they were')
  t.deepEqual(queue.published, [])
})

test('relay: an unreachable queue ends the run at its first failure and counts nothing', async (t) => {
  const { store, queue, service } = setup()
  queue.down = true
  for (let i = 1; i <= 5; i++) await service.create(OWNER, input(`task ${i}`))
  queue.attempts.length = 0
  const report = await service.relay()
  t.deepEqual(report, { records: 1, published: 0, refused: 0, parked: 0, stoppedBy: 'unreachable' })
  t.equal(queue.attempts.length, 1, 'one publish tried, not one per record')
  for (const item of store.items.values()) t.deepEqual([item.outbox.length, item.outbox[0]?.refusals, item.parked.length], [1, undefined, 0], `${item.id}: untouched`)
})

test('relay: a run ends before its deadline, taking no record with less than the reserve left', async (t) => {
  const { store, queue, service } = setup()
  queue.down = true
  for (let i = 1; i <= 10; i++) await service.create(OWNER, input(`task ${i}`))
  queue.down = false
  let elapsed = 0
  queue.onPublish = () => (elapsed += 1000)
  const report = await service.relay({ remainingMs: () => 10_000 - elapsed, reserveMs: 4000 })
  t.deepEqual([report.records, report.published, report.stoppedBy], [7, 7, 'deadline'], 'records started at 10, 9 ... 4 s left; none at 3 s')
  t.equal((await store.pending(100)).length, 3, 'the rest wait for the next run')
  t.ok(10_000 - elapsed >= 3000, 'the run ended with time to spare')
})

test('relay: a write racing the relay keeps the outbox; the refusal of that try is not counted', async (t) => {
  const { store, queue, metrics, service } = setup()
  queue.down = true
  const poison = await service.create(OWNER, input('poison'))
  const record = (await store.get(poison.id))!
  store.items.set(poison.id, { ...structuredClone(record), outbox: [{ ...record.outbox[0]!, refusals: 2 }], since: 0 })
  queue.down = false
  queue.refuses = isPoison
  // The task is written while the relay publishes.
  queue.onPublish = () => {
    queue.onPublish = () => undefined
    const current = store.items.get(poison.id)!
    store.items.set(poison.id, { ...current, version: 2, task: { ...current.task!, version: 2 } })
  }
  const report = await service.relay()
  t.deepEqual([report.parked, metrics.parked.length], [0, 0], 'nothing parked: the newer write won')
  t.deepEqual((await store.get(poison.id))?.outbox.map((event) => event.refusals), [2], 'the event is still in the outbox, as the write left it')
})

test('the Powertools adapter writes one EMF line per run that parked: namespace QueueLeveling, service relay', (t) => {
  const lines: string[] = []
  const write = process.stdout.write
  process.stdout.write = ((chunk: string | Uint8Array) => {
    lines.push(String(chunk))
    return true
  }) as typeof process.stdout.write
  const metrics = new PowertoolsRelayMetrics('production')
  try {
    metrics.flush()
    metrics.eventParked()
    metrics.eventParked()
    metrics.flush()
    metrics.flush()
  } finally {
    process.stdout.write = write
  }
  t.equal(lines.length, 1, 'a run that parked nothing writes nothing')
  const emf = JSON.parse(lines[0] ?? '{}') as Record<string, unknown> & { _aws?: { CloudWatchMetrics: { Namespace: string; Dimensions: string[][]; Metrics: { Name: string; Unit: string }[] }[] } }
  const directive = emf._aws?.CloudWatchMetrics[0]
  t.deepEqual([directive?.Namespace, directive?.Dimensions, directive?.Metrics], [RELAY_METRICS.namespace, [['service', 'stage']], [{ Name: 'OutboxEventsParked', Unit: 'Count' }]])
  t.deepEqual([emf.service, emf.stage, emf.OutboxEventsParked], ['relay', 'production', 2], 'the stage it was given')
  t.end()
})

test('the relay metrics name the stage of ARC_ENV by default', (t) => {
  const lines: string[] = []
  const write = process.stdout.write
  const arcEnv = process.env.ARC_ENV
  process.stdout.write = ((chunk: string | Uint8Array) => {
    lines.push(String(chunk))
    return true
  }) as typeof process.stdout.write
  try {
    process.env.ARC_ENV = 'staging'
    const metrics = new PowertoolsRelayMetrics()
    metrics.eventParked()
    metrics.flush()
  } finally {
    process.stdout.write = write
    if (arcEnv === undefined) delete process.env.ARC_ENV
    else process.env.ARC_ENV = arcEnv
  }
  t.equal((JSON.parse(lines[0] ?? '{}') as { stage?: string }).stage, 'staging')
  t.end()
})
