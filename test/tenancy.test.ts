import { randomUUID } from 'node:crypto'
import { GetCommand, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb'
import test from 'tape'
import { DELIVERY_INDEX } from '../src/lib/adapters/delivery-item.ts'
import { MIGRATE_DELIVERIES } from '../scripts/lib/migrate-deliveries.ts'
import { MIGRATE_OWNER } from '../scripts/lib/migrate-owner.ts'
import type { MigrationArgs, MigrationTool } from '../scripts/lib/migration.ts'
import { localTablesTarget } from '../scripts/lib/tables-target.ts'
import type { Task } from '../src/lib/tasks/task.ts'
import { apiClient, type ApiResponse } from './helpers/http.ts'
import { SqsRecorder } from './helpers/sqs-recorder.ts'
import { localTables, type LocalTables } from './helpers/tables.ts'
import { createdMessage, freePorts, runScript, type SandboxApp, type ScriptResult, sendRaw, sleep, startSandboxApp, stopAll, waitFor, WebhookReceiver } from '../scripts/lib/harness/index.ts'

/**
 * Tenancy end to end (SPEC "Who may call what"): alice and bob, two callers of
 * the same app, each see, change, delete, list and read the delivery log of
 * their own tasks only; an Idempotency-Key is each caller's own; the message
 * and the notification name the owner, the HTTP task does not; a message from
 * before tasks had owners is still delivered; `migrate-owner` hands data from
 * before tasks had owners to one caller, `migrate-deliveries` gives old
 * delivery records their lookup key. The producer publishes through a
 * recorder, so the messages are seen exactly as they went onto the queue.
 *
 * alice's and bob's requests go to the app's API with its Lambdas kept warm
 * (scripts/lib/harness/warm-api.ts: the same handlers, tables, recorder and
 * issuer, a warm environment per route); their first tasks and bob's attempts
 * on alice's task go through the sandbox itself too.
 */
const receiver = new WebhookReceiver()
let recorder: SqsRecorder
let tables: LocalTables
let app: SandboxApp
let alice: ReturnType<typeof apiClient>
let bob: ReturnType<typeof apiClient>
/** alice and bob through the sandbox, a process per request. */
let aliceSandbox: ReturnType<typeof apiClient>
let bobSandbox: ReturnType<typeof apiClient>

const TASK_KEYS = ['createdAt', 'id', 'isComplete', 'title', 'updatedAt', 'version']
const NOT_FOUND = JSON.stringify({ message: 'Task not found' })

/** Every task of a caller, following Link from page to page; the page sizes too. */
async function listAll(api: typeof alice, limit: number): Promise<{ ids: string[]; sizes: number[] }> {
  const ids: string[] = []
  const sizes: number[] = []
  let path: string | undefined = `/tasks?limit=${limit}`
  while (path && sizes.length < 20) {
    const page: ApiResponse<Task[]> = await api<Task[]>('GET', path)
    if (page.status !== 200) throw new Error(`GET ${path}: ${page.status} ${page.text}`)
    ids.push(...page.body.map((task) => task.id))
    sizes.push(page.body.length)
    path = /^<([^>]+)>; rel="next"$/.exec(page.headers.get('link') ?? '')?.[1]
  }
  return { ids, sizes }
}

const sorted = (ids: string[]): string[] => [...ids].sort()

/** `npm run <script> -- ...` against the test's sandbox tables, as a process of its own. */
const migration = (script: 'migrate-owner' | 'migrate-deliveries', ...args: string[]): Promise<ScriptResult> =>
  runScript(script, args, { env: { ARC_TABLES_PORT: String(app.ports.ARC_TABLES_PORT) } })

/**
 * The report the same command prints, from its tool run in this process: each
 * migration's first run above goes through the command line, exit code and
 * all; a process costs more than the migration.
 */
async function migrated<Table extends string>(tool: MigrationTool<MigrationArgs, Table>, ...argv: string[]): Promise<string> {
  const args = tool.parse(argv)
  if (args === 'help') throw new Error(`${argv.join(' ')}: no migration to run`)
  const target = await localTablesTarget(tool.tables, { ARC_TABLES_PORT: String(app.ports.ARC_TABLES_PORT) })
  try {
    return await tool.run(target, args)
  } finally {
    target.db.destroy()
  }
}

const aliceTasks: Task[] = []
const bobTasks: Task[] = []

test('start the app, publishing through a recorder, with a webhook downstream; tokens for alice and bob', async (t) => {
  const url = await receiver.listen()
  const ports = await freePorts()
  recorder = new SqsRecorder({ host: '127.0.0.1', port: ports.ARC_SQS_PORT })
  const sqs = await recorder.listen()
  app = await startSandboxApp({
    name: 'tenancy',
    ports,
    env: { NOTIFY_WEBHOOK_URL: url },
    lambdaEnv: { AWS_ENDPOINT_URL_SQS: sqs, NOTIFICATIONS_QUEUE_URL: `${sqs}/000000000000/notifications` },
  })
  tables = localTables(app.ports.ARC_TABLES_PORT)
  const [aliceToken, bobToken] = await Promise.all([app.mint({ sub: 'alice' }), app.mint({ sub: 'bob' })])
  alice = apiClient(app.baseUrl, aliceToken)
  bob = apiClient(app.baseUrl, bobToken)
  aliceSandbox = apiClient(app.sandboxUrl, aliceToken)
  bobSandbox = apiClient(app.sandboxUrl, bobToken)
  t.pass('started')
})

test('alice and bob each list only their own tasks, in one page and page by page', async (t) => {
  for (let i = 0; i < 5; i++) {
    const created = await (i === 0 ? aliceSandbox : alice)<Task>('POST', '/tasks', { body: { title: `alice ${i}` } })
    t.equal(created.status, 201, `alice created "alice ${i}"`)
    aliceTasks.push(created.body)
    if (i < 3) {
      const theirs = await (i === 0 ? bobSandbox : bob)<Task>('POST', '/tasks', { body: { title: `bob ${i}` } })
      t.equal(theirs.status, 201, `bob created "bob ${i}"`)
      bobTasks.push(theirs.body)
    }
  }
  const aliceIds = aliceTasks.map((task) => task.id)
  const bobIds = bobTasks.map((task) => task.id)
  const aliceAll = await alice<Task[]>('GET', '/tasks')
  t.deepEqual(sorted(aliceAll.body.map((task) => task.id)), sorted(aliceIds), "alice's list: her 5 tasks, none of bob's")
  t.equal(aliceAll.headers.get('link'), null, 'no Link: nothing more is hers')
  t.deepEqual(aliceAll.body.find((task) => task.id === aliceIds[0]), aliceTasks[0], 'listed exactly as created')
  const bobAll = await bob<Task[]>('GET', '/tasks')
  t.deepEqual(sorted(bobAll.body.map((task) => task.id)), sorted(bobIds), "bob's list: his 3 tasks, none of alice's")

  const alicePaged = await listAll(alice, 2)
  t.deepEqual(alicePaged.sizes, [2, 2, 1], 'alice, limit=2: pages of 2, 2 and 1')
  t.deepEqual(alicePaged.ids, aliceAll.body.map((task) => task.id), 'every task of hers once, in the order of the one big page')
  const bobPaged = await listAll(bob, 2)
  t.deepEqual(bobPaged.sizes, [2, 1], 'bob, limit=2: pages of 2 and 1')
  t.deepEqual(sorted(bobPaged.ids), sorted(bobIds), 'his tasks only')

  // A cursor names only where to start; following alice's next link with bob's token lists bob's tasks.
  const aliceFirst = await alice<Task[]>('GET', '/tasks?limit=1')
  const next = /^<([^>]+)>/.exec(aliceFirst.headers.get('link') ?? '')?.[1] ?? ''
  const bobWithAliceCursor = await bob<Task[]>('GET', next)
  t.equal(bobWithAliceCursor.status, 200, "alice's cursor in bob's hands: 200")
  t.ok(bobWithAliceCursor.body.every((task) => bobIds.includes(task.id)), 'and only ever his own tasks')
})

test("bob gets 404 for alice's task on GET, PUT and DELETE, with any If-Match; her task is unchanged", async (t) => {
  const target = aliceTasks[0]!
  const path = `/tasks/${target.id}`
  const body = { title: 'taken over by bob', isComplete: true }
  const attempts: [string, () => Promise<ApiResponse>][] = [
    ['GET', () => bob('GET', path)],
    ['PUT', () => bob('PUT', path, { body })],
    ['PUT If-Match: *', () => bob('PUT', path, { body, headers: { 'if-match': '*' } })],
    ['PUT If-Match: "1" (her current ETag)', () => bob('PUT', path, { body, headers: { 'if-match': '"1"' } })],
    ['PUT If-Match: "7" (stale: 404 before 412)', () => bob('PUT', path, { body, headers: { 'if-match': '"7"' } })],
    ['DELETE', () => bob('DELETE', path)],
    ['DELETE If-Match: *', () => bob('DELETE', path, { headers: { 'if-match': '*' } })],
  ]
  for (const [what, attempt] of attempts) {
    const response = await attempt()
    t.equal(response.status, 404, `${what}: 404`)
    t.equal(response.text, NOT_FOUND, `${what}: {"message":"Task not found"}, as for a task that does not exist`)
    t.equal(response.headers.get('etag'), null, `${what}: no ETag`)
  }
  for (const [method, options] of [['GET', {}], ['PUT', { body, headers: { 'if-match': '"1"' } }], ['DELETE', { headers: { 'if-match': '*' } }]] as const) {
    const response = await bobSandbox(method, path, options)
    t.deepEqual([response.status, response.text], [404, NOT_FOUND], `${method} through the sandbox: 404 too`)
  }
  const unknown = await bob('GET', `/tasks/${randomUUID()}`)
  t.deepEqual([unknown.status, unknown.text], [404, NOT_FOUND], 'the same answer as for an id that is nobody’s')

  const after = await alice<Task>('GET', path)
  t.equal(after.status, 200, 'alice still reads it')
  t.deepEqual(after.body, target, 'unchanged: same title, version, updatedAt')
  t.equal(after.headers.get('etag'), '"1"', 'still version 1')
  await sleep(1500)
  t.deepEqual(
    receiver.deliveredIds().filter((id) => id.includes(target.id) && !id.startsWith('task_created:')),
    [],
    'and nothing was notified for it but its creation',
  )
})

test('the raw queue message and the webhook notification carry ownerId at their top level; the HTTP task does not', async (t) => {
  const created = aliceTasks[1]!
  t.deepEqual(Object.keys(created).sort(), TASK_KEYS, 'POST answered exactly the task fields')
  t.deepEqual(Object.keys((await alice<Task>('GET', `/tasks/${created.id}`)).body).sort(), TASK_KEYS, 'GET too')

  const message = recorder.sent.find((sent) => sent.event === 'task_created' && sent.body.includes(created.id))
  t.ok(message, 'the producer published it')
  const body = JSON.parse(message?.body ?? '{}') as Record<string, unknown> & { task?: Record<string, unknown> }
  t.deepEqual(Object.keys(body), ['ownerId', 'task'], 'message body: {"ownerId": ..., "task": ...}')
  t.equal(body.ownerId, 'alice')
  t.notOk(body.task && 'ownerId' in body.task, 'not inside the task')
  const bobsMessage = recorder.sent.find((sent) => sent.body.includes(bobTasks[0]!.id))
  t.equal((JSON.parse(bobsMessage?.body ?? '{}') as { ownerId?: string }).ownerId, 'bob', "bob's message names bob")

  const call = await waitFor('the webhook call', () => receiver.calls.find((found) => found.status === 200 && found.body.id === `task_created:${created.id}:1`))
  const notification = JSON.parse(call.rawBody) as Record<string, unknown> & { task: Record<string, unknown> }
  t.equal(notification.ownerId, 'alice', 'the notification names its owner at the top level')
  t.deepEqual(Object.keys(notification).sort(), ['event', 'id', 'occurredAt', 'ownerId', 'subject', 'task', 'taskId', 'text', 'version'], 'beside id, event, taskId, version, subject, text, occurredAt, task')
  t.deepEqual(Object.keys(notification.task).sort(), TASK_KEYS, 'its task is the HTTP task, without the owner')
})

test("the delivery log: alice reads hers, bob reads [] for her task, also after she deleted it", async (t) => {
  const target = aliceTasks[2]!
  const path = `/tasks/${target.id}/notifications`
  const mine = await waitFor('her delivery record', async () => {
    const response = await alice<Record<string, unknown>[]>('GET', path)
    return response.body.length ? response : undefined
  })
  t.deepEqual(mine.body.map((record) => record.notificationId), [`task_created:${target.id}:1`], "alice: her task's delivery")
  t.deepEqual(
    Object.keys(mine.body[0] ?? {}).sort(),
    ['channel', 'deliveredAt', 'event', 'messageId', 'notificationId', 'receiveCount', 'status', 'subject', 'taskId'],
    'a delivery record as the contract shows it: the owner is who asks, not repeated',
  )
  const stored = await tables.documents.send(new GetCommand({ TableName: await tables.name('tasks'), Key: { id: target.id } }))
  t.equal(stored.Item?.ownerId, 'alice', 'the task item stores its owner')
  const theirs = await bob('GET', path)
  t.deepEqual([theirs.status, theirs.text], [200, '[]'], 'bob: 200 []')

  t.equal((await alice('DELETE', `/tasks/${target.id}`)).status, 204, 'alice deletes her task')
  const afterDelete = await waitFor('the deletion delivered and recorded', async () => {
    const response = await alice<Record<string, unknown>[]>('GET', path)
    return response.body.length >= 2 ? response : undefined
  })
  t.deepEqual(afterDelete.body.map((record) => record.notificationId), [`task_created:${target.id}:1`, `task_deleted:${target.id}:1`], 'alice still reads her log after the delete, oldest first')
  const theirsAfter = await bob('GET', path)
  t.deepEqual([theirsAfter.status, theirsAfter.text], [200, '[]'], 'bob: still [] once the task is gone')
  const { Items = [] } = await tables.documents.send(
    new QueryCommand({ TableName: await tables.name('deliveries'), KeyConditionExpression: 'taskId = :id', ExpressionAttributeValues: { ':id': target.id } }),
  )
  t.deepEqual(Items.map((item) => item.ownerId), ['alice', 'alice'], 'each delivery record stores the owner')
})

test('the same Idempotency-Key and body from alice and from bob make two tasks; each replay returns its own', async (t) => {
  const body = { title: 'Pay the invoice', detail: 'once per caller' }
  const headers = { 'Idempotency-Key': 'invoice-7' }
  const first = await alice<Task>('POST', '/tasks', { body, headers })
  const other = await bob<Task>('POST', '/tasks', { body, headers })
  t.deepEqual([first.status, other.status], [201, 201], 'both created')
  t.notEqual(other.body.id, first.body.id, 'two different tasks')
  t.equal(other.headers.get('idempotent-replayed'), null, "bob's is no replay of alice's")
  const replay = await alice<Task>('POST', '/tasks', { body, headers })
  t.equal(replay.status, 201)
  t.equal(replay.headers.get('idempotent-replayed'), 'true', "alice's retry is a replay")
  t.deepEqual(replay.body, first.body, 'of her first task')
  const theirReplay = await bob<Task>('POST', '/tasks', { body, headers })
  t.deepEqual([theirReplay.headers.get('idempotent-replayed'), theirReplay.body.id], ['true', other.body.id], "bob's retry replays his")
  t.equal((await alice('GET', `/tasks/${other.body.id}`)).status, 404, "bob's task is still not alice's")
  const aliceInvoices = (await alice<Task[]>('GET', '/tasks?limit=100')).body.filter((task) => task.title === body.title)
  t.deepEqual(aliceInvoices.map((task) => task.id), [first.body.id], 'alice has one such task')
  const different = await bob('POST', '/tasks', { body: { title: 'Something else' }, headers })
  t.equal(different.status, 422, "the key is bob's own: another body from him is 422")
})

const legacyId = randomUUID()

test('a raw message without ownerId (published before the upgrade) is still delivered; its records are shown to nobody', async (t) => {
  await sendRaw(app.sqs, app.queueUrl, [createdMessage(legacyId, 'from before owners')])
  const call = await waitFor('its delivery', () => receiver.calls.find((found) => found.status === 200 && found.body.id === `task_created:${legacyId}:1`))
  const notification = JSON.parse(call.rawBody) as Record<string, unknown>
  t.notOk('ownerId' in notification, 'delivered, with no ownerId in the notification')
  const records = await waitFor('its delivery record', async () => {
    const { Items = [] } = await tables.documents.send(
      new QueryCommand({ TableName: await tables.name('deliveries'), KeyConditionExpression: 'taskId = :id', ExpressionAttributeValues: { ':id': legacyId } }),
    )
    return Items.length ? Items : undefined
  })
  t.deepEqual(records.map((record) => record.ownerId), [undefined], 'recorded, without an owner')
  for (const [who, api] of [['alice', alice], ['bob', bob]] as const) {
    const response = await api('GET', `/tasks/${legacyId}/notifications`)
    t.deepEqual([response.status, response.text], [200, '[]'], `${who}: []`)
  }
})

test('migrate-owner: data from before owners is nobody’s until given to one caller; owners set are never changed', async (t) => {
  const table = await tables.name('tasks')
  const at = new Date().toISOString()
  const legacyTask = { id: randomUUID(), title: 'written before owners', isComplete: false, version: 1, createdAt: at, updatedAt: at }
  await tables.documents.send(new PutCommand({ TableName: table, Item: legacyTask }))
  // A record of bob's task that an older consumer wrote without the owner: it is bob's, whoever runs the migration.
  const bobsTask = bobTasks[0]!
  await tables.documents.send(
    new PutCommand({
      TableName: await tables.name('deliveries'),
      Item: { taskId: bobsTask.id, sk: `${at}#legacy#log`, notificationId: `task_created:${bobsTask.id}:1`, event: 'task_created', channel: 'log', subject: 'old', status: 'sent', messageId: 'm-old', receiveCount: 1, deliveredAt: at },
    }),
  )
  t.equal((await alice('GET', `/tasks/${legacyTask.id}`)).status, 404, 'before: alice gets 404')
  t.equal((await bob('GET', `/tasks/${legacyTask.id}`)).status, 404, 'before: bob gets 404')
  t.notOk((await alice<Task[]>('GET', '/tasks?limit=100')).body.some((task) => task.id === legacyTask.id), 'before: not listed')

  const dry = await migration('migrate-owner', '--owner', 'alice', '--dry-run')
  t.equal(dry.code, 0, `dry run exits 0 ${dry.stderr}`)
  t.match(dry.stdout, /1 task and 0 tombstones would get the owner/, 'dry run: counts the legacy task')
  t.match(dry.stdout, /2 delivery records would get an owner, 1 of them their task's owner instead/, "and the two unowned records, bob's as bob's")
  t.match(dry.stdout, /Nothing was written\./)
  t.equal((await alice('GET', `/tasks/${legacyTask.id}`)).status, 404, 'a dry run writes nothing')

  const run = await migrated(MIGRATE_OWNER, '--owner', 'alice')
  t.match(run, /1 task and 0 tombstones got the owner/)
  t.match(run, /2 delivery records got an owner, 1 of them their task's owner instead/)
  const read = await alice<Task>('GET', `/tasks/${legacyTask.id}`)
  t.deepEqual([read.status, read.body], [200, legacyTask], 'after: alice reads it, without an owner field')
  t.ok((await alice<Task[]>('GET', '/tasks?limit=100')).body.some((task) => task.id === legacyTask.id), 'and lists it')
  t.equal((await bob('GET', `/tasks/${legacyTask.id}`)).status, 404, 'bob still gets 404')
  const legacyLog = await alice<Record<string, unknown>[]>('GET', `/tasks/${legacyId}/notifications`)
  t.deepEqual(legacyLog.body.map((record) => record.notificationId), [`task_created:${legacyId}:1`], "the unowned message's record is alice's now")
  const bobsLog = await bob<Record<string, unknown>[]>('GET', `/tasks/${bobsTask.id}/notifications`)
  t.ok(bobsLog.body.some((record) => record.messageId === 'm-old'), "the old record of bob's task went to bob")
  t.notOk((await alice<Record<string, unknown>[]>('GET', `/tasks/${bobsTask.id}/notifications`)).body.length, 'not to alice')
  const bobsItem = await tables.documents.send(new GetCommand({ TableName: table, Key: { id: bobsTask.id } }))
  t.equal(bobsItem.Item?.ownerId, 'bob', "bob's own task kept its owner")

  const again = await migrated(MIGRATE_OWNER, '--owner', 'bob')
  t.match(again, /0 tasks and 0 tombstones got the owner/, 'a second run (even for another owner) finds nothing left to give')
  t.match(again, /0 delivery records got an owner/)
  t.equal((await alice('GET', `/tasks/${legacyTask.id}`)).status, 200, 'and the task stays alice’s')
})

test('migrate-deliveries: records from before "already delivered?" was a key lookup get their key, found by the index after', async (t) => {
  const table = await tables.name('deliveries')
  const at = new Date().toISOString()
  const taskId = randomUUID()
  const notificationId = `task_created:${taskId}:1`
  // As an older consumer wrote it: no deliveryKey.
  await tables.documents.send(
    new PutCommand({ TableName: table, Item: { taskId, ownerId: 'alice', sk: `${at}#${notificationId}#webhook`, notificationId, event: 'task_created', channel: 'webhook', subject: 'old', status: 'sent', messageId: 'm-older', receiveCount: 1, deliveredAt: at } }),
  )
  const lookup = async () =>
    (await tables.documents.send(new QueryCommand({ TableName: table, IndexName: DELIVERY_INDEX, KeyConditionExpression: 'deliveryKey = :key', ExpressionAttributeValues: { ':key': `${notificationId}#webhook` } }))).Items ?? []
  t.equal((await lookup()).length, 0, 'before: not found by its key')

  const dry = await migration('migrate-deliveries', '--dry-run')
  t.equal(dry.code, 0, `dry run exits 0 ${dry.stderr}`)
  t.match(dry.stdout, /[1-9]\d* delivery records? would get a lookup key/, 'dry run: counts the records without a key')
  t.match(dry.stdout, /Nothing was written\./)
  t.equal((await lookup()).length, 0, 'a dry run writes nothing')

  const run = await migrated(MIGRATE_DELIVERIES)
  t.match(run, /[1-9]\d* delivery records? got a lookup key/)
  t.deepEqual((await lookup()).map((item) => item.sk), [`${at}#${notificationId}#webhook`], 'after: the record is found by its key')
  const again = await migrated(MIGRATE_DELIVERIES)
  t.match(again, /0 delivery records got a lookup key/, 'a second run finds nothing left to key')
})

test('stop', async (t) => {
  await stopAll(tables, app, recorder, receiver)
  t.pass('stopped')
})
