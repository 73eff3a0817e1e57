import { spawn, type ChildProcess } from 'node:child_process'
import { rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import test from 'tape'
import { localIssuerDir, localIssuerUrl, mintToken } from '../src/plugins/queue-leveling/local-issuer.ts'
import { apiClient } from './helpers/http.ts'
import { freePorts, prepareAppCopy, TEST_CALLER, waitFor, WebhookReceiver, type PortSet } from '../scripts/lib/harness/index.ts'

/**
 * `npx arc sandbox`, the way Architect users start an app, with a shell that
 * holds no AWS credentials, region or app settings: the plugins give the local
 * Lambdas what they need, and settings come from `.env` or preferences.arc.
 * It runs the same system as `npm start`: the queue, its event source mapping,
 * the deliveries.
 */
const SYSTEM_PATH = (process.env.PATH ?? '').split(':').filter((dir) => !dir.includes('node_modules')).join(':')

interface ArcSandbox {
  process: ChildProcess
  output: () => string
  stop(): Promise<void>
}

async function arcSandbox(cwd: string, ports: PortSet): Promise<ArcSandbox> {
  // Only what a shell always has, and ports off the defaults: no AWS_*, no NOTIFY_*.
  const env = {
    PATH: SYSTEM_PATH,
    HOME: process.env.HOME ?? '/root',
    ...Object.fromEntries(Object.entries(ports).map(([name, port]) => [name, String(port)])),
  }
  for (const name of Object.keys(env)) if (/^(AWS_|NOTIFY_)/.test(name)) throw new Error(`${name} leaked into the shell`)
  const child = spawn('npx', ['arc', 'sandbox'], { cwd, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()))
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()))
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  await waitFor('npx arc sandbox to start its queues', () => (output.includes('Ran Sandbox startup plugins') ? true : undefined), 120_000)
  return {
    process: child,
    output: () => output,
    async stop() {
      if (child.pid !== undefined) process.kill(-child.pid, 'SIGINT')
      await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 10_000))])
      if (child.exitCode === null && child.pid !== undefined) process.kill(-child.pid, 'SIGKILL')
    },
  }
}

/** A client with a token of the local issuer that `npx arc sandbox` runs for the app copy in `cwd`. */
async function apiFor(cwd: string, ports: PortSet): Promise<ReturnType<typeof apiClient>> {
  const token = await mintToken({ dir: localIssuerDir(cwd), issuer: localIssuerUrl(ports.LOCAL_ISSUER_PORT), sub: TEST_CALLER })
  return apiClient(`http://localhost:${ports.PORT}`, token)
}

test('npx arc sandbox with an empty shell: a webhook from .env gets the notification', async (t) => {
  const receiver = new WebhookReceiver()
  const url = await receiver.listen()
  const cwd = await prepareAppCopy({ name: `test-apps/arc-sandbox-dotenv-${process.pid}`, queue: { visibilityTimeout: 30 } })
  await writeFile(join(cwd, '.env'), `NOTIFY_WEBHOOK_URL=${url}\n`)
  const ports = await freePorts()
  const sandbox = await arcSandbox(cwd, ports)
  const api = await apiFor(cwd, ports)
  try {
    const created = await api('POST', '/tasks', { body: { title: 'started the Architect way' } })
    t.equal(created.status, 201, 'the task is created')
    const id = `task_created:${created.body.id}:1`
    await waitFor('the webhook delivery', () => (receiver.deliveredIds().includes(id) ? true : undefined), 30_000)
    t.deepEqual(receiver.deliveredIds(), [id], 'delivered to the webhook from .env, once')
    const log = await waitFor('the delivery record', async () => {
      const records = await api<{ channel: string }[]>('GET', `/tasks/${created.body.id}/notifications`)
      return records.body.length ? records.body : undefined
    })
    t.deepEqual(log.map((record) => record.channel), ['webhook'], 'recorded as a webhook delivery: with a channel configured, the log channel stays off')
    t.doesNotMatch(sandbox.output(), /CredentialsProviderError|Could not load credentials|Region is missing/, 'no credential or region errors')
    t.match(sandbox.output(), /\[queues\] @queues notifications: batch #1 \(poller \d, 1 record\): all done/, 'through the local queue and the event source mapping')
    t.doesNotMatch(sandbox.output(), /"message":"Delivered"/, 'the delivery line goes to the dashboard, not the terminal: one line per batch')
    const state = await fetch(`http://127.0.0.1:${ports.DASHBOARD_PORT}/api/state`)
    const numbers = (await state.json()) as { queue: { name: string }; deliveries: { total: number } }
    t.deepEqual([state.status, numbers.queue.name, numbers.deliveries.total], [200, 'notifications', 1], 'the dashboard serves too, and counted the delivery')
  } finally {
    await sandbox.stop()
    await receiver.close()
    await rm(cwd, { recursive: true, force: true })
  }
})

test('npx arc sandbox with no channel configured: the log channel is the local default', async (t) => {
  const cwd = await prepareAppCopy({ name: `test-apps/arc-sandbox-log-${process.pid}`, queue: { visibilityTimeout: 30 } })
  const ports = await freePorts()
  const sandbox = await arcSandbox(cwd, ports)
  const api = await apiFor(cwd, ports)
  try {
    const created = await api('POST', '/tasks', { body: { title: 'logged locally' } })
    t.equal(created.status, 201)
    const log = await waitFor('the log delivery', async () => {
      const records = await api<{ channel: string; notificationId: string }[]>('GET', `/tasks/${created.body.id}/notifications`)
      return records.body.length ? records.body : undefined
    }, 30_000)
    t.deepEqual(log.map((record) => [record.channel, record.notificationId]), [['log', `task_created:${created.body.id}:1`]])
    t.match(sandbox.output(), /"message":"Notification"/, 'one structured log line per notification')
  } finally {
    await sandbox.stop()
    await rm(cwd, { recursive: true, force: true })
  }
})
