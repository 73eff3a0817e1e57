import test from 'tape'
import { startSandboxApp, waitFor, type SandboxApp } from '../scripts/lib/harness/index.ts'
import { apiClient } from './helpers/http.ts'

// With no webhook or email configured, notifications go to the log channel.
let app: SandboxApp

test('without a configured channel, a notification is logged and recorded', async (t) => {
  app = await startSandboxApp({ name: 'log-channel', env: { NOTIFY_WEBHOOK_URL: '' } })
  const api = apiClient(app.baseUrl, app.token)
  const created = await api('POST', '/tasks', { body: { title: 'Logged only' } })
  t.equal(created.status, 201)
  const records = await waitFor('a log delivery', async () => {
    const response = await api<Record<string, unknown>[]>('GET', `/tasks/${created.body.id}/notifications`)
    return response.body.length ? response.body : undefined
  })
  t.equal(records.length, 1)
  t.equal(records[0]?.channel, 'log')
  t.equal(records[0]?.notificationId, `task_created:${created.body.id}:1`)
  t.equal(records[0]?.subject, 'New task created: Logged only')
  await app.stop()
})
