import { randomUUID } from 'node:crypto'
import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb'
import test from 'tape'
import { LEGACY_OUTBOX_KEY, outboxIndexKeys, outboxShard, type TaskItem } from '../src/lib/adapters/task-item.ts'
import { apiClient } from './helpers/http.ts'
import { localTables, type LocalTables } from './helpers/tables.ts'
import type { TcpProxy } from './helpers/tcp-proxy.ts'
import { startAppBehindProxy } from './helpers/proxied-app.ts'
import { type SandboxApp, sleep, stopAll, TEST_CALLER, waitFor, WebhookReceiver } from '../scripts/lib/harness/index.ts'

// No lost notifications: with the queue unreachable, writes still succeed at
// once; their events wait in the task's outbox and are delivered once the
// queue is back (the relay runs every second here instead of every minute). The
// outbox indexes are spread over 4 shards here, and the relay finds items on
// every one of them and under the key from before shards.
/** How often the relay runs here (LOCAL_SCHEDULE_SECONDS): every minute deployed. */
const RELAY_SECONDS = 1
const SHARDS = 4
process.env.OUTBOX_SHARDS = String(SHARDS)
const receiver = new WebhookReceiver()
let tables: LocalTables
let proxy: TcpProxy
let app: SandboxApp
let api: ReturnType<typeof apiClient>
/**
 * The same API with its Lambdas kept warm: the timed writes go there, so that
 * their time is the handler's (did it wait on the queue?), not that of the
 * process sandbox starts per request on a busy machine.
 */
let warmApi: ReturnType<typeof apiClient>

test('start the app publishing through a proxy to the local queue', async (t) => {
  const url = await receiver.listen()
  const started = await startAppBehindProxy('outbox', url, { relaySeconds: RELAY_SECONDS })
  app = started.app
  proxy = started.proxy
  tables = localTables(app.ports.ARC_TABLES_PORT)
  api = apiClient(app.sandboxUrl, app.token)
  const warm = await api('POST', '/tasks', { body: { title: 'before the outage' } })
  await waitFor('the first delivery', () => (receiver.deliveredIds().includes(`task_created:${warm.body.id}:1`) ? true : undefined))
  t.pass('a write while the queue is reachable is delivered')
  warmApi = apiClient(app.baseUrl, app.token)
  // Each route the outage test times gets its warm environment now, while the queue is up.
  const spare = await warmApi('POST', '/tasks', { body: { title: 'warms the routes' } })
  await warmApi('PUT', `/tasks/${spare.body.id}`, { body: { title: 'warms the routes', isComplete: true } })
  t.equal((await warmApi('DELETE', `/tasks/${spare.body.id}`)).status, 204, 'the warm API answers each route')
})

test('writes succeed within about a second while the queue is down, and are delivered once it is back', async (t) => {
  await proxy.down()
  const created = await warmApi('POST', '/tasks', { body: { title: 'written during the outage' } })
  t.equal(created.status, 201, 'create answered 201')
  t.ok(created.ms < 2000, `create took ${created.ms.toFixed(0)} ms`)
  const doomed = await api('POST', '/tasks', { body: { title: 'deleted during the outage' } })
  t.equal(doomed.status, 201, 'and through the sandbox too')
  const updated = await warmApi('PUT', `/tasks/${created.body.id}`, { body: { title: 'updated during the outage', isComplete: true } })
  t.equal(updated.status, 200, 'replace answered 200')
  t.ok(updated.ms < 2000, `replace took ${updated.ms.toFixed(0)} ms`)
  const deleted = await warmApi('DELETE', `/tasks/${doomed.body.id}`)
  t.equal(deleted.status, 204, 'delete answered 204')
  t.ok(deleted.ms < 2000, `delete took ${deleted.ms.toFixed(0)} ms`)

  t.equal((await api('GET', `/tasks/${doomed.body.id}`)).status, 404, 'a deleted task is gone at once, its tombstone invisible')
  const listed = await api<{ id: string }[]>('GET', '/tasks')
  t.notOk(listed.body.some((task) => task.id === doomed.body.id), 'and not listed')
  t.equal((await api('GET', `/tasks/${created.body.id}`)).body.version, 2, 'the update is stored')
  const table = await tables.name('tasks')
  const waiting = await Promise.all([created.body.id, doomed.body.id].map(async (id: string) => (await tables.documents.send(new GetCommand({ TableName: table, Key: { id }, ConsistentRead: true }))).Item as TaskItem))
  t.deepEqual(waiting.map((item) => item.outboxPending), waiting.map((item) => outboxShard(item.id, SHARDS)), `their events wait under their shard of ${SHARDS}`)

  // Two relay runs with the queue down.
  await sleep(2 * RELAY_SECONDS * 1000)
  const expected = [
    `task_created:${created.body.id}:1`,
    `task_updated:${created.body.id}:2`,
    `task_created:${doomed.body.id}:1`,
    `task_deleted:${doomed.body.id}:1`,
  ]
  t.deepEqual(receiver.deliveredIds().filter((id) => expected.includes(id)), [], 'nothing was delivered while the queue was down')

  await proxy.up()
  await waitFor('the four pending events', () => (expected.every((id) => receiver.deliveredIds().includes(id)) ? true : undefined), 30_000)
  // Room for a second copy: two more relay runs.
  await sleep(2 * RELAY_SECONDS * 1000)
  t.deepEqual(receiver.deliveredIds().filter((id) => expected.includes(id)).sort(), [...expected].sort(), 'each pending event delivered exactly once')
  const createdCall = receiver.calls.find((call) => call.body.id === `task_updated:${created.body.id}:2`)
  t.equal(createdCall?.body.subject, 'Task completed: updated during the outage')
})

test('items pending on every outbox shard, and one under the key from before shards, are all relayed', async (t) => {
  // Written straight into the table, as a write whose publish failed leaves them: the relay is all that can publish them.
  const table = await tables.name('tasks')
  const at = new Date().toISOString()
  const byShard = new Map<string, string>()
  while (byShard.size < SHARDS) {
    const id = randomUUID()
    byShard.set(outboxShard(id, SHARDS), id)
  }
  const legacyId = randomUUID()
  const pending: [string, string][] = [...[...byShard].map(([shard, id]): [string, string] => [id, shard]), [legacyId, LEGACY_OUTBOX_KEY]]
  t.deepEqual(pending.map(([, key]) => key).sort(), [...outboxIndexKeys(SHARDS)].sort(), `one item under each of the ${SHARDS} shards and the legacy key`)
  for (const [id, key] of pending) {
    const task = { id, title: `pending under ${key}`, isComplete: false, version: 1, createdAt: at, updatedAt: at }
    const item: TaskItem = { ...task, ownerId: TEST_CALLER, outbox: [{ event: 'task_created', body: { ownerId: TEST_CALLER, task } }], outboxPending: key, outboxSince: at }
    await tables.documents.send(new PutCommand({ TableName: table, Item: item }))
  }
  const expected = pending.map(([id]) => `task_created:${id}:1`)
  await waitFor('every pending item relayed and delivered', () => (expected.every((id) => receiver.deliveredIds().includes(id)) ? true : undefined), 30_000)
  t.pass('each one delivered')
  const cleared = await waitFor('every outbox cleared', async () => {
    const items = await Promise.all(pending.map(async ([id]) => (await tables.documents.send(new GetCommand({ TableName: table, Key: { id }, ConsistentRead: true }))).Item as TaskItem | undefined))
    return items.every((item) => item?.outbox === undefined && item?.outboxPending === undefined) ? items : undefined
  })
  t.equal(cleared.length, SHARDS + 1, 'and out of the pending index, the task kept')
})

test('stop', async (t) => {
  await stopAll(tables, app, proxy, receiver)
  t.pass('stopped')
})
