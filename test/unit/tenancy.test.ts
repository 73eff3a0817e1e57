import test from 'tape'
import { ownerOf, type TaskItem, toRecord, toTask } from '../../src/lib/adapters/task-item.ts'
import { ifMatchCondition } from '../../src/lib/http/conditions.ts'
import { type EventPublisher, InvalidMessageError, parseTaskEvent, type TaskEvent } from '../../src/lib/messages/contract.ts'
import { type DeliveryHistory, DeliveryQueries, type DeliveryRecord, type DeliveryView, type LogEntry } from '../../src/lib/notifications/delivery-log.ts'
import { toNotification } from '../../src/lib/notifications/notification.ts'
import { InvalidCursorError } from '../../src/lib/paging.ts'
import { appendEvent, withOwner } from '../../src/lib/tasks/outbox.ts'
import { TaskNotFoundError, TaskService } from '../../src/lib/tasks/service.ts'
import type { Task } from '../../src/lib/tasks/task.ts'
import { updateDelivery } from '../helpers/delivery-records.ts'
import { MemoryTaskStore } from '../helpers/memory-task-store.ts'

/**
 * Tenancy as pure logic: a task is its creator's (the token's `sub`) and no
 * one else's, in the service, the store's item, the message contract, the
 * notification and the delivery log. In-memory store and queue.
 */

const AT = '2026-01-01T00:00:00.000Z'
const task = (id: string, version = 1, title = `${id} v${version}`): Task => ({ id, title, isComplete: false, version, createdAt: AT, updatedAt: AT })
const input = (title: string) => ({ title, detail: undefined, dueAt: undefined, isComplete: false })

/** Records what was published, as the SQS publisher would send it: the body as JSON. */
class MemoryQueue implements EventPublisher {
  readonly bodies: string[] = []
  down = false
  async publish(event: TaskEvent): Promise<void> {
    if (this.down) throw new Error('connect ECONNREFUSED')
    this.bodies.push(JSON.stringify(event.body))
  }
}

function setup() {
  const store = new MemoryTaskStore()
  const queue = new MemoryQueue()
  let n = 0
  const service = new TaskService(store, queue, { newId: () => `task-${String(++n).padStart(2, '0')}`, now: () => AT })
  return { store, queue, service }
}

const notFound = async (promise: Promise<unknown>): Promise<boolean> => promise.then(() => false, (error: unknown) => error instanceof TaskNotFoundError)

test("another caller's task is not found for get, replace and remove, before any If-Match; it stays as it was", async (t) => {
  const { store, queue, service } = setup()
  const mine = await service.create('alice', input('Alice only'))
  const before = await store.get(mine.id)
  t.equal(before?.ownerId, 'alice', 'the store keeps the creator as owner')
  t.ok(await notFound(service.get('bob', mine.id)), 'get: not found')
  t.ok(await notFound(service.replace('bob', mine.id, input('Taken over'))), 'replace: not found')
  t.ok(await notFound(service.replace('bob', mine.id, input('Taken over'), ifMatchCondition('*'))), 'replace with If-Match *: not found')
  t.ok(await notFound(service.replace('bob', mine.id, input('Taken over'), ifMatchCondition('"9"'))), 'replace with a stale If-Match: not found, not 412')
  t.ok(await notFound(service.remove('bob', mine.id)), 'remove: not found')
  t.ok(await notFound(service.remove('bob', mine.id, ifMatchCondition('*'))), 'remove with If-Match *: not found')
  t.deepEqual(await store.get(mine.id), before, "alice's item is untouched")
  t.equal(queue.bodies.length, 1, 'nothing published but the creation')
  t.deepEqual(await service.get('alice', mine.id), mine, 'and alice still reads it')
})

test('an item from before tasks had owners is nobody’s: not found for every caller, never listed', async (t) => {
  const { store, service } = setup()
  store.putLegacy({ id: 'legacy', version: 1, task: task('legacy'), outbox: [], parked: [] })
  for (const caller of ['alice', 'bob']) {
    t.ok(await notFound(service.get(caller, 'legacy')), `${caller}: get not found`)
    t.ok(await notFound(service.replace(caller, 'legacy', input('mine now'), ifMatchCondition('*'))), `${caller}: replace not found`)
    t.ok(await notFound(service.remove(caller, 'legacy')), `${caller}: remove not found`)
    t.deepEqual((await service.list(caller, 50, undefined)).items, [], `${caller}: not listed`)
  }
  t.equal((await store.get('legacy'))?.version, 1, 'left as it was')
})

test("the list is the caller's own tasks, page by page; a cursor cannot reach another caller's", async (t) => {
  const { service } = setup()
  const alice: string[] = []
  const bob: string[] = []
  for (let i = 0; i < 5; i++) {
    alice.push((await service.create('alice', input(`a${i}`))).id)
    bob.push((await service.create('bob', input(`b${i}`))).id)
  }
  await service.remove('alice', alice[4]!)
  const pages: string[][] = []
  let cursor: string | undefined
  do {
    const page = await service.list('alice', 2, cursor)
    pages.push(page.items.map((found) => found.id))
    cursor = page.nextCursor
  } while (cursor && pages.length < 10)
  t.deepEqual(pages, [alice.slice(0, 2), alice.slice(2, 4)], 'pages of 2 with her tasks only, the deleted one left out, no empty last page')
  const bobsCursor = (await service.list('bob', 1, undefined)).nextCursor
  const withBobsCursor = await service.list('alice', 50, bobsCursor)
  t.ok(withBobsCursor.items.every((found) => alice.includes(found.id)), "bob's cursor only positions alice in her own list")
})

test('every event carries the owner at the top of its body, the tombstone keeps it', async (t) => {
  const { store, queue, service } = setup()
  const created = await service.create('alice', input('Told'))
  await service.replace('alice', created.id, { ...input('Told again'), isComplete: true })
  queue.down = true
  await service.remove('alice', created.id)
  const tombstone = await store.get(created.id)
  t.deepEqual([tombstone?.task, tombstone?.ownerId], [undefined, 'alice'], 'the tombstone keeps the owner while its event waits')
  queue.down = false
  await service.relay()
  const bodies = queue.bodies.map((body) => JSON.parse(body) as Record<string, unknown>)
  t.deepEqual(
    bodies.map((body) => Object.keys(body)),
    [
      ['ownerId', 'task'],
      ['ownerId', 'oldTask', 'newTask'],
      ['ownerId', 'task', 'deletedAt'],
    ],
    'created, updated, deleted: ownerId first, beside the task(s)',
  )
  t.deepEqual(bodies.map((body) => body.ownerId), ['alice', 'alice', 'alice'])
  t.ok(bodies.every((body) => !JSON.stringify(body.task ?? body.newTask).includes('ownerId')), 'the task itself does not name its owner')
})

test('events stored before tasks had owners: published with the owner their task has by now, or with none', async (t) => {
  const { store, queue, service } = setup()
  const legacyEvent = { event: 'task_created' as const, body: { task: task('migrated') } }
  store.putLegacy({ id: 'migrated', version: 1, task: task('migrated'), outbox: [legacyEvent], parked: [] })
  store.items.get('migrated')!.ownerId = 'alice'
  store.putLegacy({ id: 'unowned', version: 1, task: task('unowned'), outbox: [{ event: 'task_created', body: { task: task('unowned') } }], parked: [] })
  const report = await service.relay()
  t.equal(report.published, 2, 'both published')
  const bodies = queue.bodies.map((body) => JSON.parse(body) as { ownerId?: string; task: Task })
  t.deepEqual(bodies.find((body) => body.task.id === 'migrated')?.ownerId, 'alice', 'a migrated task lends its owner')
  t.notOk('ownerId' in (bodies.find((body) => body.task.id === 'unowned') ?? {}), 'an unowned one goes out without')
  t.equal(withOwner(legacyEvent, undefined), legacyEvent, 'no owner to give: the event as it was')
  const owned = { event: 'task_created' as const, body: { ownerId: 'alice', task: task('x') } }
  t.equal(withOwner(owned, 'bob'), owned, 'an event that names its owner keeps it')
})

test('merging updates keeps the owner, also into an update stored without one', (t) => {
  const v = (version: number) => task('t1', version)
  const owned = appendEvent([{ event: 'task_updated', body: { ownerId: 'alice', oldTask: v(1), newTask: v(2) } }], { event: 'task_updated', body: { ownerId: 'alice', oldTask: v(2), newTask: v(3) } })
  t.deepEqual(owned, [{ event: 'task_updated', body: { ownerId: 'alice', oldTask: v(1), newTask: v(3) } }])
  const intoLegacy = appendEvent([{ event: 'task_updated', body: { oldTask: v(1), newTask: v(2) } }], { event: 'task_updated', body: { ownerId: 'alice', oldTask: v(2), newTask: v(3) } })
  t.equal(intoLegacy[0]?.body.ownerId, 'alice')
  const bothLegacy = appendEvent([{ event: 'task_updated', body: { oldTask: v(1), newTask: v(2) } }], { event: 'task_updated', body: { oldTask: v(2), newTask: v(3) } })
  t.notOk('ownerId' in (bothLegacy[0]?.body ?? {}), 'no owner invented')
  t.end()
})

test('the message contract: ownerId optional, a non-empty string when given', (t) => {
  const body = { ownerId: 'alice', task: task('t1') }
  t.deepEqual(parseTaskEvent('task_created', JSON.stringify(body)), { event: 'task_created', body })
  const legacy = parseTaskEvent('task_deleted', JSON.stringify({ task: task('t1'), deletedAt: AT }))
  t.notOk('ownerId' in legacy.body, 'a body without ownerId (published before the upgrade) is on contract')
  for (const ownerId of ['', 42, null]) {
    t.throws(
      () => parseTaskEvent('task_created', JSON.stringify({ ownerId, task: task('t1') })),
      (error: unknown) => error instanceof InvalidMessageError && /off contract: ownerId/.test(error.message),
      `ownerId ${JSON.stringify(ownerId)} is off contract`,
    )
  }
  t.end()
})

test('the notification carries the owner at its top level, or none for a message without', (t) => {
  const owned = toNotification({ event: 'task_created', body: { ownerId: 'alice', task: task('t1') } })
  t.equal(owned.ownerId, 'alice')
  t.deepEqual(Object.keys(owned), ['id', 'event', 'taskId', 'ownerId', 'version', 'subject', 'text', 'occurredAt', 'task'])
  t.notOk('ownerId' in owned.task, 'not inside the task')
  const legacy = toNotification({ event: 'task_created', body: { task: task('t1') } })
  t.notOk('ownerId' in legacy, 'no key at all, not null')
  t.equal(legacy.id, owned.id, 'the same notification id either way')
  t.end()
})

/** A task's log in memory: entries in order, each position its index; counts the records it hands out. */
class MemoryHistory implements DeliveryHistory {
  readonly logs = new Map<string, DeliveryRecord[]>()
  read = 0
  async after(taskId: string, position: string | undefined, count: number): Promise<{ entries: LogEntry[]; more: boolean }> {
    if (position !== undefined && !/^\d{4}$/.test(position)) throw new InvalidCursorError()
    const log = this.logs.get(taskId) ?? []
    const start = position === undefined ? 0 : Number(position) + 1
    const entries = log.slice(start, start + count).map((record, index) => ({ record, position: String(start + index).padStart(4, '0') }))
    this.read += entries.length
    return { entries, more: start + count < log.length }
  }
}

const delivery = (ownerId: string | undefined, version: number, channel: DeliveryRecord['channel'] = 'webhook'): DeliveryRecord => updateDelivery(ownerId, version, channel, AT)
const viewOf = ({ ownerId: _owner, ...view }: DeliveryRecord): DeliveryView => view

/** Every page of a caller's read of a task's log, following the cursors. */
async function pagesOf(queries: DeliveryQueries, ownerId: string, taskId: string, limit: number, cursor?: string): Promise<DeliveryView[][]> {
  const pages: DeliveryView[][] = []
  do {
    const page = await queries.forTask(ownerId, taskId, limit, cursor)
    pages.push(page.items)
    cursor = page.nextCursor
  } while (cursor && pages.length < 20)
  return pages
}

test("the delivery log as a caller reads it: only records stored for that caller, without the owner; legacy records for nobody", async (t) => {
  const history = new MemoryHistory()
  const stored = [delivery('alice', 1, 'webhook'), delivery(undefined, 1, 'email'), delivery('alice', 1, 'log')]
  history.logs.set('t1', stored)
  const queries = new DeliveryQueries(history)
  t.deepEqual(await pagesOf(queries, 'alice', 't1', 50), [[viewOf(stored[0]!), viewOf(stored[2]!)]], 'alice: her records, oldest first as stored, the unowned one left out')
  t.deepEqual(await pagesOf(queries, 'bob', 't1', 50), [[]], 'bob: none')
  t.deepEqual(await pagesOf(queries, 'alice', 'other', 50), [[]], 'another task: none')
})

test('the delivery log page by page: full pages across unowned records, no empty last page; another caller reads nothing, with any cursor', async (t) => {
  const history = new MemoryHistory()
  const log = [delivery(undefined, 1), delivery('alice', 2), delivery(undefined, 3), delivery(undefined, 4), delivery('alice', 5), delivery('alice', 6), delivery(undefined, 7), delivery('alice', 8), delivery('alice', 9)]
  history.logs.set('t1', log)
  const queries = new DeliveryQueries(history)
  const mine = log.filter((record) => record.ownerId === 'alice').map(viewOf)
  t.deepEqual(await pagesOf(queries, 'alice', 't1', 2), [mine.slice(0, 2), mine.slice(2, 4), mine.slice(4)], 'pages of 2, 2 and 1 of her 5 records, in order')
  t.deepEqual(await pagesOf(queries, 'alice', 't1', 5), [mine], 'exactly a page: no second, empty one')

  const aliceCursor = (await queries.forTask('alice', 't1', 2, undefined)).nextCursor
  history.read = 0
  t.deepEqual(await pagesOf(queries, 'bob', 't1', 1), [[]], 'bob: [] for her task')
  t.equal(history.read, 2, `and his read stopped at her first record: 2 records read, not all ${log.length}`)
  t.deepEqual(await pagesOf(queries, 'bob', 't1', 50), [[]], 'also with a larger page')
  t.deepEqual(await pagesOf(queries, 'bob', 't1', 2, aliceCursor), [[]], "bob with alice's cursor: still []")
  t.deepEqual((await pagesOf(queries, 'alice', 't1', 2, aliceCursor)).flat(), mine.slice(2), 'her cursor goes on where her first page ended')
  for (const cursor of ['not-a-cursor', Buffer.from('{"after":""}').toString('base64url'), Buffer.from('{"after":"x"}').toString('base64url')]) {
    await queries.forTask('alice', 't1', 2, cursor).then(
      () => t.fail(`${cursor}: accepted`),
      (error: unknown) => t.ok(error instanceof InvalidCursorError, `${cursor}: InvalidCursorError`),
    )
  }
})

test('the item: the owner is stored and read back, never part of the task the API shows', (t) => {
  const item: TaskItem = { ...task('t1'), ownerId: 'alice', outbox: [] }
  t.deepEqual(toTask(item), task('t1'), 'exactly the task fields')
  t.equal(toRecord(item).ownerId, 'alice')
  t.equal(toRecord({ id: 't2', version: 2, tombstone: true, ownerId: 'bob' }).ownerId, 'bob', 'a tombstone keeps it')
  t.equal(toRecord({ ...task('t3') }).ownerId, undefined, 'a legacy item has none')
  t.deepEqual(ownerOf({ ownerId: 'alice' }), { ownerId: 'alice' })
  t.deepEqual(ownerOf({ ownerId: undefined }), {}, 'no attribute written for no owner')
  t.end()
})
