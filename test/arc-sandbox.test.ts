import { spawn, type ChildProcess } from 'node:child_process'
import { readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import test from 'tape'
import { localIssuerDir, localIssuerUrl, mintToken } from '../src/plugins/queue-leveling/local-issuer.ts'
import { apiClient } from './helpers/http.ts'
import { freePorts, prebuiltHandlers, prepareAppCopy, ROOT, sleep, TEST_CALLER, waitFor, WebhookReceiver, type PortSet } from '../scripts/lib/harness/index.ts'

/**
 * The app started as its users start it, with its real TypeScript build:
 * `npx arc sandbox`, the way Architect users start an app, with a shell that
 * holds no AWS credentials, region or app settings: the plugins give the local
 * Lambdas what they need, and settings come from `.env` or preferences.arc.
 * It runs the same system as `npm start`: the queue, its event source mapping,
 * the deliveries. And `npm start` with no channel configured: the log channel
 * delivers, and tracing stays off.
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

/** The handler bundles under a build folder, relative to it. */
async function bundlesIn(build: string): Promise<string[]> {
  return (await readdir(build, { recursive: true })).filter((file) => file.endsWith('index.js')).sort()
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
    const shared = await prebuiltHandlers()
    const bundles = await bundlesIn(join(cwd, '.build'))
    t.deepEqual(bundles, await bundlesIn(shared), "the shared build has every bundle plugin-typescript's build made")
    const differing = []
    for (const bundle of bundles) if (!(await readFile(join(cwd, '.build', bundle))).equals(await readFile(join(shared, bundle)))) differing.push(bundle)
    t.deepEqual(differing, [], `each of the ${bundles.length} bundles is the one the tests run (scripts/lib/harness/handler-build.ts), byte for byte`)
  } finally {
    await sandbox.stop()
    await receiver.close()
    await rm(cwd, { recursive: true, force: true })
  }
})

/** Lines about X-Ray that the SDK or Powertools would print when tracing without a segment or a daemon. */
const XRAY_LINE = /x-?ray|_X_AMZN_TRACE_ID|AWS_XRAY|segment|context missing|daemon|trace header/i

/**
 * `npm start` in a copy of its own, started with the file: its build (esbuild, every handler) and start run beside the
 * first test's rather than after it.
 */
async function startNpmStart() {
  const cwd = await prepareAppCopy({ name: `test-apps/npm-start-${process.pid}` })
  const env: Record<string, string | undefined> = { ...process.env }
  // npm start gets the test ports and nothing of the settings a test file may hold.
  for (const name of Object.keys(env)) if (/^(POWERTOOLS_|AWS_XRAY|_X_AMZN|AWS_EXECUTION_ENV|NOTIFY_|AUTH_)/.test(name)) delete env[name]
  const ports = await freePorts()
  for (const [name, value] of Object.entries(ports)) env[name] = String(value)
  const child = spawn(process.execPath, [join(ROOT, 'scripts/start.ts')], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()))
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()))
  const exited = new Promise<void>((resolve) => child.on('close', () => resolve()))
  return { cwd, ports, child, exited, output: () => output }
}
const npmStart = startNpmStart()
// Its test awaits it; a failure before then is that test's to report, not an unhandled rejection.
npmStart.catch(() => undefined)

test('npm start, untouched, with no channel configured: the log channel is the local default, tracing is off and not one line of its output is about X-Ray', async (t) => {
  const { cwd, ports, child, exited, output } = await npmStart
  try {
    await waitFor('npm start to serve', () => (output().includes(localIssuerUrl(ports.LOCAL_ISSUER_PORT)) && /\[queues\]|@queues/.test(output()) ? true : undefined), 60_000)
    await waitFor('the API', async () => (await fetch(`http://localhost:${ports.PORT}/nothing`).catch(() => undefined))?.status === 404 || undefined, 60_000)
    const api = await apiFor(cwd, ports)
    const created = await api('POST', '/tasks', { body: { title: 'logged locally' } })
    t.equal(created.status, 201, 'a task is created')
    const log = await waitFor('the log delivery', async () => {
      const records = await api<{ channel: string; notificationId: string }[]>('GET', `/tasks/${created.body.id}/notifications`)
      return records.body.length ? records.body : undefined
    }, 30_000)
    t.deepEqual(log.map((record) => [record.channel, record.notificationId]), [['log', `task_created:${created.body.id}:1`]], 'delivered once, by the log channel')
    await waitFor('the delivery in the output', () => (output().includes(created.body.id) ? true : undefined), 30_000)
    t.match(output(), /"message":"Notification"/, 'one structured log line per notification')
    await sleep(500)
  } finally {
    child.kill('SIGINT')
    await Promise.race([exited, sleep(10_000).then(() => child.kill('SIGKILL'))])
    await rm(cwd, { recursive: true, force: true })
  }
  const lines = output().split('\n')
  t.ok(lines.length > 5, `npm start printed ${lines.length} lines`)
  t.deepEqual(lines.filter((line) => XRAY_LINE.test(line)), [], 'none about X-Ray, a segment, a daemon or a missing context')
})
