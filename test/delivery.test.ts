import { createHmac, randomUUID } from 'node:crypto'
import { DeleteCommand, ScanCommand } from '@aws-sdk/lib-dynamodb'
import test from 'tape'
import { apiClient } from './helpers/http.ts'
import { localTables, type LocalTables } from './helpers/tables.ts'
import { createdMessage, queueDepth, type SandboxApp, sendRaw, sleep, startSandboxApp, stopAll, TEST_CALLER, waitFor, type WebhookCall, WebhookReceiver } from '../scripts/lib/harness/index.ts'

// Created, completed, updated and deleted notifications reach a real webhook,
// signed, once each, and the delivery log reads them back oldest first; a copy
// that gets past the idempotency guard is still stopped by the delivery record.
const SECRET = 'test-webhook-secret'
const receiver = new WebhookReceiver()
let tables: LocalTables
let app: SandboxApp
let api: ReturnType<typeof apiClient>

const callFor = (notificationId: string) => () => receiver.calls.find((call) => call.body.id === notificationId)

function expectedSignature(call: WebhookCall): string {
  const timestamp = String(call.headers['x-signature-timestamp'])
  return `sha256=${createHmac('sha256', SECRET).update(`${timestamp}.${call.rawBody}`).digest('hex')}`
}

test('start the app with a signed webhook downstream', async (t) => {
  const url = await receiver.listen()
  app = await startSandboxApp({ name: 'delivery', env: { NOTIFY_WEBHOOK_URL: url, NOTIFY_WEBHOOK_SECRET: SECRET } })
  api = apiClient(app.sandboxUrl, app.token)
  tables = localTables(app.ports.ARC_TABLES_PORT)
  t.pass('sandbox started')
})

test('a task lifecycle is notified once per event, signed, in the delivery log', async (t) => {
  const created = await api('POST', '/tasks', { body: { title: 'Write the report', detail: 'quarterly', dueAt: '2030-01-02T03:04:05+01:00' } })
  t.equal(created.status, 201)
  const task = created.body
  const createdCall = await waitFor('task_created delivery', callFor(`task_created:${task.id}:1`))

  t.equal(createdCall.headers['content-type'], 'application/json')
  t.equal(createdCall.headers['x-notification-id'], `task_created:${task.id}:1`)
  t.equal(createdCall.headers['x-notification-event'], 'task_created')
  const timestamp = Number(createdCall.headers['x-signature-timestamp'])
  t.ok(Math.abs(timestamp - Date.now() / 1000) < 60, 'signature timestamp is the current unix time in seconds')
  t.equal(createdCall.headers['x-signature-256'], expectedSignature(createdCall), 'HMAC-SHA256 of "<timestamp>.<raw body>"')
  t.deepEqual(createdCall.body, {
    id: `task_created:${task.id}:1`,
    event: 'task_created',
    taskId: task.id,
    ownerId: TEST_CALLER,
    version: 1,
    subject: 'New task created: Write the report',
    text: 'New task created: Write the report\nStatus: open\nDue: 2030-01-02T02:04:05.000Z\n\nquarterly',
    occurredAt: task.createdAt,
    task,
  })

  const completed = await api('PUT', `/tasks/${task.id}`, { body: { title: 'Write the report', isComplete: true } })
  t.equal(completed.status, 200)
  const completedCall = await waitFor('task_updated v2 delivery', callFor(`task_updated:${task.id}:2`))
  t.equal(completedCall.body.subject, 'Task completed: Write the report', 'isComplete turning true is a completion')
  t.equal(completedCall.headers['x-notification-event'], 'task_updated')
  t.equal((completedCall.body as unknown as { occurredAt: string }).occurredAt, completed.body.updatedAt, 'occurredAt is the new updatedAt')
  t.equal(completedCall.headers['x-signature-256'], expectedSignature(completedCall))

  const renamed = await api('PUT', `/tasks/${task.id}`, { body: { title: 'Write the final report', isComplete: true } })
  t.equal(renamed.status, 200)
  const renamedCall = await waitFor('task_updated v3 delivery', callFor(`task_updated:${task.id}:3`))
  t.equal(renamedCall.body.subject, 'Task updated: Write the final report', 'an already complete task is only updated')

  const deleted = await api('DELETE', `/tasks/${task.id}`)
  t.equal(deleted.status, 204)
  const deletedCall = await waitFor('task_deleted delivery', callFor(`task_deleted:${task.id}:3`))
  t.equal(deletedCall.body.subject, 'Task deleted: Write the final report')
  t.equal(deletedCall.headers['x-notification-event'], 'task_deleted')
  const deletedAt = (deletedCall.body as unknown as { occurredAt: string }).occurredAt
  t.ok(Date.parse(deletedAt) >= Date.parse(renamed.body.updatedAt), 'occurredAt of a delete is its deletedAt')

  const expectedIds = [`task_created:${task.id}:1`, `task_updated:${task.id}:2`, `task_updated:${task.id}:3`, `task_deleted:${task.id}:3`]
  const log = await waitFor('four delivery records', async () => {
    const response = await api<Record<string, unknown>[]>('GET', `/tasks/${task.id}/notifications`)
    return response.body.length >= 4 ? response : undefined
  })
  t.equal(log.status, 200, 'the delivery log outlives the task')
  t.deepEqual(
    log.body.map((record) => record.notificationId),
    expectedIds,
    'oldest first',
  )
  t.deepEqual(
    log.body.map((record) => record.subject),
    ['New task created: Write the report', 'Task completed: Write the report', 'Task updated: Write the final report', 'Task deleted: Write the final report'],
  )
  for (const record of log.body) {
    t.deepEqual(Object.keys(record).sort(), ['channel', 'deliveredAt', 'event', 'messageId', 'notificationId', 'receiveCount', 'status', 'subject', 'taskId'])
    t.equal(record.taskId, task.id)
    t.equal(record.channel, 'webhook')
    t.equal(record.status, 'sent')
    t.equal(record.receiveCount, 1)
    t.equal(typeof record.messageId, 'string')
  }
  const times = log.body.map((record) => Date.parse(String(record.deliveredAt)))
  t.deepEqual(times, [...times].sort((a, b) => a - b), 'deliveredAt ascending')

  await new Promise((resolve) => setTimeout(resolve, 1500))
  t.deepEqual(receiver.deliveredIds().sort(), [...expectedIds].sort(), 'each notification reached the downstream exactly once')
})

test('a copy whose guard record is gone is not delivered again: its delivery record, looked up by key, says it was', async (t) => {
  const id = randomUUID()
  const message = createdMessage(id, 'delivered once only', TEST_CALLER)
  await sendRaw(app.sqs, app.queueUrl, [message])
  await waitFor('its delivery', callFor(`task_created:${id}:1`))
  await waitFor('its delivery record', async () => ((await api<unknown[]>('GET', `/tasks/${id}/notifications`)).body.length === 1 ? true : undefined))
  const emptied = async (): Promise<true | undefined> => {
    const depth = await queueDepth(app.sqs, app.queueUrl)
    return depth.visible + depth.inFlight === 0 ? true : undefined
  }
  await waitFor('the queue empty', emptied)
  // What a claim that expired with a cut-off invocation leaves: no completed guard record (Powertools keeps them here).
  const table = await tables.name('idempotency')
  const { Items = [] } = await tables.documents.send(new ScanCommand({ TableName: table, ProjectionExpression: 'id' }))
  for (const item of Items) await tables.documents.send(new DeleteCommand({ TableName: table, Key: { id: item.id } }))
  t.ok(Items.length > 0, `the guard's ${Items.length} records are gone`)

  await sendRaw(app.sqs, app.queueUrl, [message])
  await waitFor('the copy handled and deleted', emptied)
  await sleep(500)
  t.equal(receiver.calls.filter((call) => call.body.id === `task_created:${id}:1`).length, 1, 'the downstream was called once')
  t.equal((await api<unknown[]>('GET', `/tasks/${id}/notifications`)).body.length, 1, 'and one delivery is recorded')
})

test('stop', async (t) => {
  await stopAll(tables, app, receiver)
  t.pass('stopped')
})
