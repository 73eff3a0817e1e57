import test from 'tape'
import { replay } from '../scripts/lib/dlq.ts'
import { localTarget } from '../scripts/lib/dlq-target.ts'
import { apiClient } from './helpers/http.ts'
import { drainView, queueDepth, type RawMessage, type SandboxApp, sendRaw, startSandboxApp, waitFor, WebhookReceiver } from '../scripts/lib/harness/index.ts'

/**
 * A consumer with no notification channel (the log channel explicitly off, as
 * on a deployed stage where nobody set one) marks nothing delivered: each
 * notification is a retryable failure that ends in the DLQ, and is delivered
 * once a channel is configured and the DLQ replayed. The local queues live in
 * memory, so the DLQ's message is carried across the restart that configures
 * the channel, as a deployed DLQ keeps its messages across a deploy.
 */
const SHORT_RETRIES = {
  queue: { maxReceiveCount: 2, visibilityTimeout: 10, batchWindow: 0 },
  consumerTimeout: 10,
}
let app: SandboxApp
const parked: RawMessage[] = []

test('no channel: the notification is not recorded as delivered and ends in the DLQ', async (t) => {
  app = await startSandboxApp({ name: 'no-channel', ...SHORT_RETRIES, env: { NOTIFY_LOG: 'false', NOTIFY_WEBHOOK_URL: '', RETRY_BASE_SECONDS: '1' } })
  const api = apiClient(app.baseUrl, app.token)
  const created = await api('POST', '/tasks', { body: { title: 'nobody to tell yet' } })
  t.equal(created.status, 201)
  await waitFor('the message in the DLQ', async () => ((await queueDepth(app.sqs, app.dlqUrl)).visible === 1 ? true : undefined), 30_000)
  const records = await api<unknown[]>('GET', `/tasks/${created.body.id}/notifications`)
  t.deepEqual(records.body, [], 'no delivery record: nothing was delivered')
  t.deepEqual(await queueDepth(app.sqs, app.queueUrl), { visible: 0, inFlight: 0, delayed: 0 }, 'nothing left in the queue')
  parked.push(...(await drainView(app.sqs, app.dlqUrl)))
  t.equal(parked.length, 1, 'the DLQ holds the task_created message')
  t.ok(parked[0]?.body.includes(created.body.id), 'of this task')
  await app.stop()
})

test('a channel configured, the DLQ replayed: the notification is delivered and recorded', async (t) => {
  const receiver = new WebhookReceiver()
  const url = await receiver.listen()
  app = await startSandboxApp({ name: 'no-channel', ...SHORT_RETRIES, env: { NOTIFY_LOG: 'false', NOTIFY_WEBHOOK_URL: url, RETRY_BASE_SECONDS: '1' } })
  await sendRaw(app.sqs, app.dlqUrl, parked)
  const taskId = (JSON.parse(parked[0]?.body ?? '{}') as { task?: { id?: string } }).task?.id ?? ''
  t.equal(await replay(localTarget('notifications', { ARC_SQS_PORT: String(app.ports.ARC_SQS_PORT) })), 0, 'npm run dlq -- replay moved it back')
  const id = `task_created:${taskId}:1`
  await waitFor('the delivery', () => (receiver.deliveredIds().includes(id) ? true : undefined), 30_000)
  t.deepEqual(receiver.deliveredIds(), [id], 'delivered once to the newly configured webhook')
  const records = await waitFor('the delivery record', async () => {
    const response = await apiClient(app.baseUrl, app.token)<{ channel: string }[]>('GET', `/tasks/${taskId}/notifications`)
    return response.body.length ? response.body : undefined
  })
  t.deepEqual(records.map((record) => record.channel), ['webhook'], 'and recorded')
  t.deepEqual(await queueDepth(app.sqs, app.dlqUrl), { visible: 0, inFlight: 0, delayed: 0 }, 'the DLQ is empty')
  await app.stop()
  await receiver.close()
})
