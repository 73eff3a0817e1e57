import { GetItemCommand } from '@aws-sdk/client-dynamodb'
import test from 'tape'
import type { Task } from '../src/lib/tasks/task.ts'
import { apiClient } from './helpers/http.ts'
import { localTables, type LocalTables } from './helpers/tables.ts'
import type { TcpProxy } from './helpers/tcp-proxy.ts'
import { startAppBehindProxy } from './helpers/proxied-app.ts'
import { queueDepth, type SandboxApp, sleep, stopAll, waitFor, type WebhookCall, WebhookReceiver } from '../scripts/lib/harness/index.ts'

// What SQS would refuse never reaches it, and an outbox cannot outgrow its item:
// text with U+FFFE and U+FFFF is stored, published and notified exactly; many
// large updates written while the queue is unreachable keep the item small and
// end in one notification of the latest state (the relay runs every second here,
// over 4 outbox shards). The 60 updates go to the app's API with its Lambdas
// kept warm (scripts/lib/harness/warm-api.ts: the same handler, table and
// proxied queue, without a process start per request).
process.env.OUTBOX_SHARDS = '4'
/** How often the relay runs here (LOCAL_SCHEDULE_SECONDS): every minute deployed. */
const RELAY_SECONDS = 1
const receiver = new WebhookReceiver()
let proxy: TcpProxy
let tables: LocalTables
let app: SandboxApp
let api: ReturnType<typeof apiClient>

type Notified = WebhookCall['body'] & { task: Task }
const notificationsOf = (taskId: string): Notified[] => receiver.calls.filter((call) => call.status === 200 && call.body.taskId === taskId).map((call) => call.body as Notified)

test('start the app publishing through a proxy to the local queue', async (t) => {
  const url = await receiver.listen()
  const started = await startAppBehindProxy('outbox-bounded', url, { relaySeconds: RELAY_SECONDS })
  app = started.app
  proxy = started.proxy
  tables = localTables(app.ports.ARC_TABLES_PORT)
  api = apiClient(app.baseUrl, app.token)
  t.pass('started')
})

test('a task whose text holds U+FFFE and U+FFFF is stored, published and notified with its exact text', async (t) => {
  const title = 'noncharacters \uFFFE and \uFFFF, twice: \uFFFF\uFFFE'
  const detail = '\uFFFF'.repeat(10) + ' detail \uFFFE'
  const created = await api<Task>('POST', '/tasks', { body: { title, detail } })
  t.equal(created.status, 201, 'created')
  t.deepEqual([created.body.title, created.body.detail], [title, detail], 'answered with the exact text')
  const read = await api<Task>('GET', `/tasks/${created.body.id}`)
  t.deepEqual([read.body.title, read.body.detail], [title, detail], 'read back exactly')
  const updatedTitle = `${title} (updated \uFFFF)`
  t.equal((await api('PUT', `/tasks/${created.body.id}`, { body: { title: updatedTitle, detail, isComplete: false } })).status, 200, 'updated')

  const id = created.body.id
  await waitFor('both notifications', () => (notificationsOf(id).length === 2 ? true : undefined), 30_000)
  const [first, second] = [notificationsOf(id).find((n) => n.event === 'task_created'), notificationsOf(id).find((n) => n.event === 'task_updated')]
  t.deepEqual([first?.task.title, first?.task.detail], [title, detail], 'the created notification carries the exact text')
  t.deepEqual([second?.task.title, second?.task.detail], [updatedTitle, detail], 'and the updated one')
  t.equal(second?.subject, `Task updated: ${updatedTitle}`, 'subject too')
  t.deepEqual(await queueDepth(app.sqs, app.dlqUrl), { visible: 0, inFlight: 0, delayed: 0 }, 'nothing in the DLQ')
})

test('60 large updates while the queue is down: every write succeeds, the item stays small, one update is notified after', async (t) => {
  await proxy.down()
  const created = await api<Task>('POST', '/tasks', { body: { title: 'written over and over' } })
  t.equal(created.status, 201)
  const id = created.body.id
  const statuses: number[] = []
  let last: Task | undefined
  for (let i = 1; i <= 60; i++) {
    // 1000 characters, different each time: nothing for a compression or dedup to hide.
    const detail = `${i}:`.padEnd(1000, String.fromCharCode(97 + (i % 26)))
    const response = await api<Task>('PUT', `/tasks/${id}`, { body: { title: `title ${i}`, detail, isComplete: i === 60 } })
    statuses.push(response.status)
    last = response.body
  }
  t.deepEqual([...new Set(statuses)], [200], 'all 60 writes answered 200')
  t.equal(last?.version, 61)

  const table = await tables.name('tasks')
  t.equal(table, 'queue-leveling-staging-tasks', 'the sandbox names the table as expected')
  const { Item } = await tables.raw.send(new GetItemCommand({ TableName: table, Key: { id: { S: id } }, ConsistentRead: true }))
  const bytes = Buffer.byteLength(JSON.stringify(Item))
  t.ok(bytes < 20_000, `the item holds about ${(bytes / 1024).toFixed(1)} KB (DynamoDB allows 400 KB; unbounded, it would be ~120 KB and growing)`)
  t.deepEqual(Item?.outbox?.L?.map((entry) => entry.M?.event?.S), ['task_created', 'task_updated'], 'its outbox: the creation and one merged update')

  // Two relay runs with the queue down.
  await sleep(2 * RELAY_SECONDS * 1000)
  t.deepEqual(notificationsOf(id), [], 'nothing delivered while the queue is down')
  await proxy.up()
  await waitFor('the created and the merged update', () => (notificationsOf(id).length >= 2 ? true : undefined), 30_000)
  // Room for a wrong third notification: the outbox cleared, the queue empty, and one more relay run.
  await waitFor('the outbox cleared and the queue empty', async () => {
    const { Item: now } = await tables.raw.send(new GetItemCommand({ TableName: table, Key: { id: { S: id } }, ConsistentRead: true }))
    const depth = await queueDepth(app.sqs, app.queueUrl)
    return now?.outbox === undefined && depth.visible + depth.inFlight + depth.delayed === 0 ? true : undefined
  })
  await sleep(2 * RELAY_SECONDS * 1000)
  const notified = notificationsOf(id)
  // A standard queue may deliver them in either order.
  t.deepEqual(
    notified.map((n) => n.id).sort(),
    [`task_created:${id}:1`, `task_updated:${id}:61`],
    "exactly the creation and one update, with the last version's id",
  )
  const update = notified.find((n) => n.event === 'task_updated')
  t.deepEqual(update?.task, last, 'the update carries the latest state')
  t.equal(update?.subject, 'Task completed: title 60')
  const { Item: after } = await tables.raw.send(new GetItemCommand({ TableName: table, Key: { id: { S: id } }, ConsistentRead: true }))
  t.deepEqual([after?.outbox, after?.outboxPending], [undefined, undefined], 'the outbox is cleared')
})

test('stop', async (t) => {
  await stopAll(tables, app, proxy, receiver)
  t.pass('stopped')
})
