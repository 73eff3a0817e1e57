import { DynamoDBClient, ScanCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb'
import test from 'tape'
import { apiClient } from './helpers/http.ts'
import { startAppBehindProxy } from './helpers/proxied-app.ts'
import type { TcpProxy } from './helpers/tcp-proxy.ts'
import { type SandboxApp, sleep, stopAll, waitFor } from '../scripts/lib/harness/index.ts'

// Idempotency-Key on POST /tasks (IETF httpapi-idempotency-key): replays, 422,
// 409 while in flight, failures not stored, 24 h expiry checked on read.
// Publishing goes through a proxy that can be made slow, to hold a create in flight.
let proxy: TcpProxy
let app: SandboxApp
let api: ReturnType<typeof apiClient>

const withKey = (key: string) => ({ 'Idempotency-Key': key })

async function tasksTitled(title: string): Promise<{ id: string }[]> {
  const all = await api<{ id: string; title: string }[]>('GET', '/tasks?limit=100')
  return all.body.filter((task) => task.title === title)
}

test('start the app (log channel) publishing through a proxy', async (t) => {
  // Publish attempts get 10 s here, so that a create held at the proxy stays in flight while the test retries it.
  const started = await startAppBehindProxy('idempotency-key', '', { lambdaEnv: { SQS_TIMEOUT_MS: '10000' } })
  app = started.app
  proxy = started.proxy
  api = apiClient(app.baseUrl, app.token)
  t.pass('sandbox started')
})

test('a retry with the same key and body replays the first 201 and creates and publishes nothing', async (t) => {
  const body = { title: 'Pay the invoice', detail: 'once' }
  const first = await api('POST', '/tasks', { body, headers: withKey('invoice-42') })
  t.equal(first.status, 201)
  t.equal(first.headers.get('idempotent-replayed'), null, 'the first answer is no replay')
  const again = await api('POST', '/tasks', { body: { detail: 'once', title: 'Pay the invoice' }, headers: withKey('invoice-42') })
  t.equal(again.status, 201, 'the same JSON body, keys in another order')
  t.equal(again.headers.get('idempotent-replayed'), 'true')
  t.deepEqual(again.body, first.body, 'the first task, not a new one')
  t.equal(again.headers.get('location'), first.headers.get('location'))
  t.equal(again.headers.get('etag'), first.headers.get('etag'))
  t.equal(again.headers.get('content-type'), 'application/json')
  t.equal((await tasksTitled('Pay the invoice')).length, 1, 'one task stored')
  const records = await waitFor('the delivery', async () => {
    const response = await api<unknown[]>('GET', `/tasks/${first.body.id}/notifications`)
    return response.body.length ? response.body : undefined
  })
  await sleep(2000)
  t.equal(records.length, 1, 'one notification')
  t.equal((await api<unknown[]>('GET', `/tasks/${first.body.id}/notifications`)).body.length, 1, 'still one: nothing was published again')
})

test('the same key with another body is 422', async (t) => {
  const response = await api('POST', '/tasks', { body: { title: 'Something else' }, headers: withKey('invoice-42') })
  t.equal(response.status, 422)
  t.deepEqual(response.body, { message: 'Idempotency-Key was already used with another request body' })
  t.equal((await tasksTitled('Something else')).length, 0, 'nothing created')
})

test('a malformed key is 400', async (t) => {
  for (const key of ['', 'k'.repeat(256)]) {
    const response = await api('POST', '/tasks', { body: { title: 'bad key' }, headers: withKey(key) })
    t.equal(response.status, 400, `key of ${key.length} characters`)
    t.deepEqual(response.body, { message: 'Idempotency-Key must be 1 to 255 printable characters' })
  }
  const longest = await api('POST', '/tasks', { body: { title: 'longest key' }, headers: withKey('k'.repeat(255)) })
  t.equal(longest.status, 201, '255 characters is a key')
})

test('a request that failed is not stored: the key is free for a correct retry', async (t) => {
  const failed = await api('POST', '/tasks', { body: { title: '' }, headers: withKey('retry-after-400') })
  t.equal(failed.status, 400)
  const retried = await api('POST', '/tasks', { body: { title: 'Now valid' }, headers: withKey('retry-after-400') })
  t.equal(retried.status, 201, 'not 422: the failed attempt left nothing behind')
  t.equal(retried.headers.get('idempotent-replayed'), null)
})

test('a retry while the first request is still in flight is 409', async (t) => {
  proxy.delayMs = 3000
  const before = proxy.accepted
  // Through the sandbox: its process per request opens a new connection to the queue, which the proxy holds for delayMs
  // (within SQS_TIMEOUT_MS); a warm Lambda would publish on the connection it keeps. The create is in flight once its
  // publish reaches the proxy.
  const first = apiClient(app.sandboxUrl, app.token)('POST', '/tasks', { body: { title: 'Slow create' }, headers: withKey('in-flight') })
  await waitFor('the first create publishing', async () => (proxy.accepted > before ? true : undefined), 10_000, 20)
  const second = await api('POST', '/tasks', { body: { title: 'Slow create' }, headers: withKey('in-flight') })
  proxy.delayMs = 0
  t.equal(second.status, 409)
  t.deepEqual(second.body, { message: 'A request with this Idempotency-Key is still in progress' })
  t.equal((await first).status, 201, 'the first one completes')
  const replay = await api('POST', '/tasks', { body: { title: 'Slow create' }, headers: withKey('in-flight') })
  t.equal(replay.status, 201)
  t.equal(replay.headers.get('idempotent-replayed'), 'true', 'and is replayed afterwards')
  t.equal((await tasksTitled('Slow create')).length, 1)
})

test('a key older than 24 h is expired when read, even if the table still holds it', async (t) => {
  const first = await api('POST', '/tasks', { body: { title: 'Yesterday' }, headers: withKey('old-key') })
  t.equal(first.status, 201)
  // Age every stored record by a day, as DynamoDB TTL would have (the local one never deletes).
  const db = new DynamoDBClient({ endpoint: `http://127.0.0.1:${app.ports.ARC_TABLES_PORT}`, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } })
  const table = 'queue-leveling-staging-idempotency'
  const { Items = [] } = await db.send(new ScanCommand({ TableName: table }))
  t.ok(Items.length > 0, 'records are stored')
  const yesterday = Math.floor(Date.now() / 1000) - 60
  for (const item of Items) {
    await db.send(new UpdateItemCommand({ TableName: table, Key: { id: item.id! }, UpdateExpression: 'SET expiration = :past', ExpressionAttributeValues: { ':past': { N: String(yesterday) } } }))
  }
  db.destroy()
  const reused = await api('POST', '/tasks', { body: { title: 'Today' }, headers: withKey('old-key') })
  t.equal(reused.status, 201, 'an expired key takes a new body')
  t.notEqual(reused.body.id, first.body.id, 'and creates a new task')
  t.equal(reused.headers.get('idempotent-replayed'), null)
})

test('stop', async (t) => {
  await stopAll(app, proxy)
  t.pass('stopped')
})
