import test from 'tape'
import { WebhookReceiver } from '../scripts/lib/webhook-receiver.ts'
import { startAppBehindProxy, TEST_PORTS, type TestApp } from './helpers/app.ts'
import { apiClient, sleep, waitFor } from './helpers/http.ts'
import { TcpProxy } from './helpers/tcp-proxy.ts'

// No lost notifications: with the queue unreachable, writes still succeed at
// once; their events wait in the task's outbox and are delivered once the
// queue is back (the relay runs every 2 s here instead of every minute).
const receiver = new WebhookReceiver()
const proxy = new TcpProxy(TEST_PORTS.ARC_SQS_PORT + 1, { host: '127.0.0.1', port: TEST_PORTS.ARC_SQS_PORT })
let app: TestApp
let api: ReturnType<typeof apiClient>

test('start the app publishing through a proxy to the local queue', async (t) => {
  const url = await receiver.listen()
  app = await startAppBehindProxy('outbox', proxy, url)
  api = apiClient(app.baseUrl, app.token)
  const warm = await api('POST', '/tasks', { body: { title: 'before the outage' } })
  await waitFor('the first delivery', () => (receiver.deliveredIds().includes(`task_created:${warm.body.id}:1`) ? true : undefined))
  t.pass('a write while the queue is reachable is delivered')
})

test('writes succeed within about a second while the queue is down, and are delivered once it is back', async (t) => {
  await proxy.down()
  const created = await api('POST', '/tasks', { body: { title: 'written during the outage' } })
  t.equal(created.status, 201, 'create answered 201')
  t.ok(created.ms < 2000, `create took ${created.ms.toFixed(0)} ms`)
  const doomed = await api('POST', '/tasks', { body: { title: 'deleted during the outage' } })
  const updated = await api('PUT', `/tasks/${created.body.id}`, { body: { title: 'updated during the outage', isComplete: true } })
  t.equal(updated.status, 200, 'replace answered 200')
  t.ok(updated.ms < 2000, `replace took ${updated.ms.toFixed(0)} ms`)
  const deleted = await api('DELETE', `/tasks/${doomed.body.id}`)
  t.equal(deleted.status, 204, 'delete answered 204')
  t.ok(deleted.ms < 2000, `delete took ${deleted.ms.toFixed(0)} ms`)

  t.equal((await api('GET', `/tasks/${doomed.body.id}`)).status, 404, 'a deleted task is gone at once, its tombstone invisible')
  const listed = await api<{ id: string }[]>('GET', '/tasks')
  t.notOk(listed.body.some((task) => task.id === doomed.body.id), 'and not listed')
  t.equal((await api('GET', `/tasks/${created.body.id}`)).body.version, 2, 'the update is stored')

  await sleep(4000)
  const expected = [
    `task_created:${created.body.id}:1`,
    `task_updated:${created.body.id}:2`,
    `task_created:${doomed.body.id}:1`,
    `task_deleted:${doomed.body.id}:1`,
  ]
  t.deepEqual(receiver.deliveredIds().filter((id) => expected.includes(id)), [], 'nothing was delivered while the queue was down')

  await proxy.up()
  await waitFor('the four pending events', () => (expected.every((id) => receiver.deliveredIds().includes(id)) ? true : undefined), 30_000)
  await sleep(3000)
  t.deepEqual(receiver.deliveredIds().filter((id) => expected.includes(id)).sort(), [...expected].sort(), 'each pending event delivered exactly once')
  const createdCall = receiver.calls.find((call) => call.body.id === `task_updated:${created.body.id}:2`)
  t.equal(createdCall?.body.subject, 'Task completed: updated during the outage')
})

test('stop', async (t) => {
  await app.stop()
  await proxy.down()
  await receiver.close()
  t.pass('stopped')
})
