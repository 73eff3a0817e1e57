import type { Server } from 'node:http'
import sesLocal from 'aws-ses-v2-local'
import test from 'tape'
import { apiClient } from './helpers/http.ts'
import { TcpProxy } from './helpers/tcp-proxy.ts'
import { queueDepth, type SandboxApp, sleep, startSandboxApp, stopAll, waitFor, WebhookReceiver } from '../scripts/lib/harness/index.ts'

// The email channel against a real local SES (aws-ses-v2-local), next to a
// webhook: each notification reaches both once, and an SES outage is retried
// with backoff for the email alone, never resending the webhook. The consumer
// reaches SES through a proxy the test takes down. The visibility timeout is
// 30 s: an email back sooner came back through the consumer's backoff.
const offset = Number(process.env.TEST_PORT_OFFSET || 0)
const SES_PORT = 8505 + offset
const VISIBILITY_SECONDS = 30
const TO = ['ops@example.com', 'Team Lead <lead@example.com>']
const FROM = 'Task Notifier <tasks@example.com>'

interface StoredEmail {
  messageId: string
  from: string
  destination: { to: string[]; cc: string[]; bcc: string[] }
  subject: string
  body: { text?: string; html?: string }
  headers?: { name: string; value: string }[]
}

const receiver = new WebhookReceiver()
const proxy = new TcpProxy(SES_PORT + 1, { host: '127.0.0.1', port: SES_PORT })
let ses: Server
let app: SandboxApp
let api: ReturnType<typeof apiClient>

async function emails(): Promise<StoredEmail[]> {
  const response = await fetch(`http://127.0.0.1:${SES_PORT}/store`)
  return ((await response.json()) as { emails: StoredEmail[] }).emails
}
const header = (email: StoredEmail, name: string) => email.headers?.find((item) => item.name.toLowerCase() === name.toLowerCase())?.value
const emailsFor = async (notificationId: string) => (await emails()).filter((email) => header(email, 'X-Notification-Id') === notificationId)
const webhookCallsFor = (notificationId: string) => receiver.calls.filter((call) => call.body.id === notificationId)

interface DeliveryRow {
  channel: string
  notificationId: string
  subject: string
  status: string
  receiveCount: number
}
const deliveries = async (taskId: string) => (await api<DeliveryRow[]>('GET', `/tasks/${taskId}/notifications`)).body

test('start a local SES, a webhook and the app with both channels', async (t) => {
  ses = await sesLocal.default({ host: '127.0.0.1', port: SES_PORT })
  await proxy.up()
  const url = await receiver.listen()
  app = await startSandboxApp({
    name: 'email',
    queue: { batchSize: 10, batchWindow: 1, maxConcurrency: 2, maxReceiveCount: 5, visibilityTimeout: VISIBILITY_SECONDS },
    consumerTimeout: 15,
    env: { NOTIFY_EMAIL_TO: TO.join(', '), NOTIFY_EMAIL_FROM: FROM, NOTIFY_WEBHOOK_URL: url, RETRY_BASE_SECONDS: '1', RETRY_MAX_SECONDS: '60' },
    lambdaEnv: { AWS_ENDPOINT_URL_SESV2: proxy.url },
  })
  api = apiClient(app.baseUrl, app.token)
  t.equal((await fetch(`http://127.0.0.1:${SES_PORT}/health-check`)).status, 200, 'local SES up')
})

test('a created task is emailed once and posted to the webhook once, each recorded', async (t) => {
  const created = await api('POST', '/tasks', { body: { title: 'Renew the certificate', detail: 'before Friday' } })
  t.equal(created.status, 201)
  const task = created.body
  const id = `task_created:${task.id}:1`
  const records = await waitFor('a webhook and an email record', async () => {
    const found = await deliveries(task.id)
    return found.length >= 2 ? found : undefined
  })
  await sleep(1500)

  const sent = await emailsFor(id)
  t.equal(sent.length, 1, 'SES received exactly one email')
  const email = sent[0]
  t.equal(email?.from, FROM, 'from NOTIFY_EMAIL_FROM')
  t.deepEqual(email?.destination, { to: TO, cc: [], bcc: [] }, 'to every NOTIFY_EMAIL_TO address')
  t.equal(email?.subject, 'New task created: Renew the certificate', 'the notification subject')
  t.equal(email?.body.text, 'New task created: Renew the certificate\nStatus: open\n\nbefore Friday', 'the notification text')
  t.equal(email?.body.html, undefined, 'text only')
  t.equal(header(email!, 'X-Notification-Event'), 'task_created')

  t.equal(webhookCallsFor(id).length, 1, 'the webhook got one call')
  const final = await deliveries(task.id)
  t.deepEqual(final.map((record) => record.channel).sort(), ['email', 'webhook'], 'one record per channel')
  t.deepEqual(final, records, 'and no more after a while')
  for (const record of final) {
    t.deepEqual([record.notificationId, record.subject, record.status, record.receiveCount], [id, 'New task created: Renew the certificate', 'sent', 1], `${record.channel} record`)
  }
})

test('SES down: the webhook is delivered once, the email is retried with backoff and sent once SES is back', async (t) => {
  await proxy.down()
  const started = Date.now()
  const created = await api('POST', '/tasks', { body: { title: 'Rotate the keys' } })
  t.equal(created.status, 201)
  const task = created.body
  const id = `task_created:${task.id}:1`

  await waitFor('the webhook delivery', () => (webhookCallsFor(id).length > 0 ? true : undefined))
  // Long enough for the email to fail at least twice (1 s, then 2 s of backoff), short of maxReceiveCount.
  await sleep(2500)
  t.deepEqual(await emailsFor(id), [], 'no email while SES is unreachable')
  t.deepEqual((await deliveries(task.id)).map((record) => record.channel), ['webhook'], 'only the webhook recorded so far')
  await proxy.up()

  const records = await waitFor('the email record', async () => {
    const found = await deliveries(task.id)
    return found.some((record) => record.channel === 'email') ? found : undefined
  }, VISIBILITY_SECONDS * 1000)
  const elapsed = (Date.now() - started) / 1000
  await sleep(1500)

  const email = records.find((record) => record.channel === 'email')
  const webhook = records.find((record) => record.channel === 'webhook')
  t.equal(webhook?.receiveCount, 1, 'the webhook went out on the first receive')
  t.ok((email?.receiveCount ?? 0) >= 2, `the email went out on receive ${email?.receiveCount}, after failed tries`)
  t.ok(elapsed < VISIBILITY_SECONDS, `sent ${elapsed.toFixed(1)} s after the create, sooner than the ${VISIBILITY_SECONDS} s visibility timeout`)
  t.equal((await emailsFor(id)).length, 1, 'SES received it exactly once')
  t.equal(webhookCallsFor(id).length, 1, 'never a second webhook call')
  t.equal((await deliveries(task.id)).length, 2, 'one record per channel')
  const depth = await queueDepth(app.sqs, app.queueUrl)
  t.deepEqual([depth.visible, depth.inFlight], [0, 0], 'the message is done')
  t.equal((await queueDepth(app.sqs, app.dlqUrl)).visible, 0, 'nothing in the DLQ')
})

test('stop', async (t) => {
  await stopAll(app, receiver, proxy)
  ses.closeAllConnections()
  await new Promise<void>((resolve) => ses.close(() => resolve()))
  t.pass('stopped')
})
