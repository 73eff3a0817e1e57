import { randomUUID } from 'node:crypto'
import { BatchWriteCommand, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb'
import test from 'tape'
import { LEGACY_OUTBOX_KEY, outboxIndexKeys, outboxShard, type TaskItem } from '../src/lib/adapters/task-item.ts'
import { apiClient } from './helpers/http.ts'
import { localTables, type LocalTables } from './helpers/tables.ts'
import type { TcpProxy } from './helpers/tcp-proxy.ts'
import { startAppBehindProxy } from './helpers/proxied-app.ts'
import { runScript, type SandboxApp, type ScriptResult, sleep, stopAll, waitFor, WebhookReceiver } from '../scripts/lib/harness/index.ts'

// One event SQS refuses never blocks the others: more poisoned items than one
// relay run takes are the oldest pending (an `event` attribute holding U+FFFF,
// which the local SQS refuses as AWS does; no API call can make one), a few
// normal tasks are written during a short outage. The normal events are
// delivered, each poisoned event is parked after 3 refusals, `npm run outbox --
// parked` lists it and `retry` puts it back into its outbox. The outbox indexes
// are spread over 4 shards here: the poisoned items wait on every shard and,
// some of them, under the key from before shards; the relay and the command
// find them all.
const SHARDS = 4
process.env.OUTBOX_SHARDS = String(SHARDS)
/** Records a relay run takes here (OUTBOX_RELAY_BATCH; 100 by default): the poisoned items are one more. */
const RELAY_BATCH = 10
process.env.OUTBOX_RELAY_BATCH = String(RELAY_BATCH)
const receiver = new WebhookReceiver()
let proxy: TcpProxy
let tables: LocalTables
/** One more than a relay run looks at (before isolation, these alone stalled the relay for everyone); named so that the ones not under the legacy key fall on every shard. */
const POISONED = RELAY_BATCH + 1
const poisonIds = Array.from({ length: POISONED }, (_, index) => `poisoned-${String(index).padStart(3, '0')}`)
const legacyParkedId = randomUUID()
let app: SandboxApp
let api: ReturnType<typeof apiClient>
let table: string

const item = async (id: string): Promise<TaskItem | undefined> => (await tables.documents.send(new GetCommand({ TableName: table, Key: { id }, ConsistentRead: true }))).Item as TaskItem | undefined

/** `npm run outbox -- <args>` against the test's sandbox tables. */
const outboxCommand = (...args: string[]): Promise<ScriptResult> => runScript('outbox', args, { env: { ARC_TABLES_PORT: String(app.ports.ARC_TABLES_PORT) } })

test('start the app publishing through a proxy to the local queue', async (t) => {
  const url = await receiver.listen()
  const started = await startAppBehindProxy('outbox-poison', url, { relaySeconds: 1 })
  app = started.app
  proxy = started.proxy
  tables = localTables(app.ports.ARC_TABLES_PORT)
  api = apiClient(app.baseUrl, app.token)
  table = await tables.name('tasks')
  t.pass('started')
})

test('poisoned events are parked after 3 refusals; the other events are delivered meanwhile', async (t) => {
  await proxy.down()
  const at = '2000-01-01T00:00:00.000Z'
  const poisoned = poisonIds.map((id, index): TaskItem => {
    const task = { id, title: `poisoned ${index}`, isComplete: false, version: 1, createdAt: at, updatedAt: at }
    // Older than anything the test writes through the API: the relay meets them first.
    const since = new Date(Date.parse(at) + index * 1000).toISOString()
    // Every tenth as an item written before the indexes were sharded.
    const key = index % 10 === 0 ? LEGACY_OUTBOX_KEY : outboxShard(id, SHARDS)
    return { ...task, outbox: [{ event: 'task_created\uFFFF' as 'task_created', body: { task } }], outboxPending: key, outboxSince: since }
  })
  t.deepEqual([...new Set(poisoned.map((item) => item.outboxPending))].sort(), [...outboxIndexKeys(SHARDS)].sort(), 'poisoned items wait under every shard and the legacy key')
  for (let index = 0; index < poisoned.length; index += 25) {
    await tables.documents.send(new BatchWriteCommand({ RequestItems: { [table]: poisoned.slice(index, index + 25).map((Item) => ({ PutRequest: { Item } })) } }))
  }
  const normal: string[] = []
  for (let index = 0; index < 3; index++) {
    const created = await api<{ id: string }>('POST', '/tasks', { body: { title: `written during the outage ${index}` } })
    t.equal(created.status, 201)
    normal.push(created.body.id)
  }
  await sleep(3000)
  await proxy.up()

  const started = Date.now()
  const expected = normal.map((id) => `task_created:${id}:1`)
  await waitFor('the normal events', () => (expected.every((id) => receiver.deliveredIds().includes(id)) ? true : undefined), 60_000)
  t.pass(`the normal events were delivered ${((Date.now() - started) / 1000).toFixed(1)} s after the queue came back`)
  const first = await item(poisonIds[0]!)
  t.ok((first?.outbox?.length ?? 0) + (first?.parked?.length ?? 0) === 1, 'the oldest poisoned event is still held: in the outbox or parked')

  await waitFor('every poisoned event parked', async () => ((await Promise.all(poisonIds.map(item))).every((found) => found?.parked?.length === 1) ? true : undefined), 90_000, 1000)
  const parked = await item(poisonIds[0]!)
  t.deepEqual([parked?.outbox, parked?.outboxPending, parked?.outboxParked], [undefined, undefined, outboxShard(poisonIds[0]!, SHARDS)], 'out of the outbox and its index, into the parked index under its shard')
  const event = parked?.parked?.[0]
  t.equal(event?.refusals, 3, 'after exactly 3 refusals')
  t.match(event?.reason ?? '', /InvalidParameterValue|InvalidMessageContents/, `with the reason: ${event?.reason}`)
  t.equal(parked?.parkedSince, event?.parkedAt, 'listed since its parking')
  t.equal(parked?.title, 'poisoned 0', 'the task itself is left as it was')
  t.notOk(receiver.calls.some((call) => call.body.taskId.startsWith('poisoned-')), 'nothing of a poisoned task reached the downstream')
})

test('npm run outbox -- parked lists them; retry puts one back into its outbox, then the rest', async (t) => {
  // An event parked before the indexes were sharded (under the old key), which the queue takes now.
  const at = new Date().toISOString()
  const legacyTask = { id: legacyParkedId, title: 'parked before shards', isComplete: false, version: 1, createdAt: at, updatedAt: at }
  const legacyParked: TaskItem = { ...legacyTask, parked: [{ event: 'task_created', body: { task: legacyTask }, refusals: 3, reason: 'refused long ago', parkedAt: at }], outboxParked: LEGACY_OUTBOX_KEY, parkedSince: at }
  await tables.documents.send(new PutCommand({ TableName: table, Item: legacyParked }))

  const listed = await outboxCommand('parked')
  t.equal(listed.code, 0, `parked exits 0 ${listed.stderr}`)
  t.ok(poisonIds.every((id) => listed.stdout.includes(id)), 'every parked task is listed, from every shard')
  t.ok(listed.stdout.includes(legacyParkedId), 'and the one parked under the key from before shards')
  t.match(listed.stdout, /^TASK\s+EVENT\s+VERSION\s+PARKED SINCE\s+REFUSALS\s+REASON$/m, 'under a header')
  t.match(listed.stdout, new RegExp(`^${poisonIds[0]}\\s+task_created\uFFFF\\s+1\\s+\\S+Z\\s+3\\s+\\S+`, 'm'), 'task id, event, version, since, refusals, reason')
  t.match(listed.stdout, new RegExp(`${POISONED + 1} parked events in ${POISONED + 1} tasks\\.`), 'and a count')
  const one = await outboxCommand('parked', '--task', poisonIds[1]!)
  t.deepEqual(one.stdout.split('\n').filter((line) => line.startsWith('poisoned-')).length, 1, '--task lists that task only')

  const target = poisonIds[0]!
  const before = (await item(target))?.parked?.[0]?.parkedAt
  const retried = await outboxCommand('retry', '--task', target)
  t.equal(retried.code, 0, `retry exits 0 ${retried.stderr}`)
  t.match(retried.stdout, /Moved 1 parked event\(s\) of 1 task\(s\) back into their outbox/)
  // The relay runs every second and will refuse it again; catch it in the outbox before it is parked anew.
  const back = await waitFor('the event back in the outbox', async () => {
    const found = await item(target)
    return found?.outbox?.length === 1 && found.parked === undefined ? found : undefined
  }, 10_000, 100)
  t.equal(back.outboxPending, outboxShard(target, SHARDS), 'marked pending for the relay, under its shard')
  t.equal(back.outboxParked, undefined, 'no longer listed as parked')
  t.ok((back.outbox?.[0]?.refusals ?? 0) < 3, `its refusals start over (${back.outbox?.[0]?.refusals ?? 0} so far)`)
  t.equal(back.outbox?.[0]?.event, 'task_created\uFFFF', 'the same event')
  const again = await waitFor('the retried event parked anew', async () => {
    const found = await item(target)
    return found?.parked?.[0] && found.parked[0].parkedAt !== before ? found : undefined
  }, 30_000, 500)
  t.equal(again.parked?.[0]?.refusals, 3, 'the relay published it again: still refused, parked again after 3 more refusals')

  const rest = await outboxCommand('retry')
  t.equal(rest.code, 0)
  t.match(rest.stdout, new RegExp(`Moved ${POISONED + 1} parked event\\(s\\) of ${POISONED + 1} task\\(s\\)`), 'retry without --task moves every parked event')
  await waitFor('the event parked under the old key, retried, relayed and delivered', () => (receiver.deliveredIds().includes(`task_created:${legacyParkedId}:1`) ? true : undefined), 30_000)
  t.equal((await item(legacyParkedId))?.outboxParked, undefined, 'and no longer listed as parked')
})

test('stop', async (t) => {
  await stopAll(tables, app, proxy, receiver)
  t.pass('stopped')
})
