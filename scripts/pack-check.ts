import { execFile, spawn, type ChildProcess } from 'node:child_process'
import { lstat, mkdir, mkdtemp, readFile, realpath, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs'
import { ROOT } from './lib/app-copy.ts'

/**
 * `npm run pack-check`: the queue plugin as a stranger gets it. Packs
 * packages/sqs-queues (`npm pack`, which builds it at prepack), writes a fresh
 * Architect 12 app in plain JavaScript in a temporary folder outside the
 * repository, installs `@architect/architect`, `@architect/functions` and the
 * tarball from the npm registry (or npm's cache) with no patch step and no
 * install script of the package's own, starts `npx arc sandbox` on ports of its
 * own, publishes with `arc.queues.publish` from a route, and checks that the
 * consumer receives real batches through the local queue. Then it stops the
 * sandbox and removes the folder (kept when a check fails, to look into).
 *
 * It takes a minute or more (an npm install), so `npm test` does not run it;
 * .ci/run runs it after `npm test`.
 */
const run = promisify(execFile)
const PACKAGE_DIR = join(ROOT, 'packages', 'sqs-queues')
const offset = Number(process.env.TEST_PORT_OFFSET || 0)
const PORTS = { PORT: 3733 + offset, ARC_EVENTS_PORT: 4744 + offset, ARC_INTERNAL_PORT: 2522 + offset, ARC_SQS_PORT: 9624 + offset }
const MESSAGES = 5
const SCRIPTS_THAT_RUN_AT_INSTALL = ['preinstall', 'install', 'postinstall']

/** The files of the fresh app: what a user writes after reading the package's README. */
const APP_FILES: Record<string, string> = {
  'package.json': JSON.stringify({ name: 'pack-check-app', private: true }, null, 2),
  'app.arc': `@app
pack-check

@http
post /publish

@queues
tasks
  fifo false
  batchSize 10
  batchWindow 1
  visibilityTimeout 45

@plugins
arc-plugin-sqs-queues
`,
  'src/http/post-publish/index.js': `const arc = require('@architect/functions')

exports.handler = async function publish (req) {
  const { count } = JSON.parse(req.body)
  const ids = Array.from({ length: count }, (_, n) => \`task-\${n}\`)
  await Promise.all(ids.map((id) => arc.queues.publish({ name: 'tasks', payload: { id } })))
  return { statusCode: 202, body: JSON.stringify({ published: ids }) }
}
`,
  'src/queues/tasks/index.js': `const { appendFileSync } = require('node:fs')

exports.handler = async function consume (event) {
  const batch = event.Records.map((record) => ({ id: JSON.parse(record.body).id, eventSource: record.eventSource, receiveCount: record.attributes.ApproximateReceiveCount }))
  appendFileSync(process.env.RECEIPTS_FILE, JSON.stringify(batch) + '\\n')
}
`,
}

let checks = 0
function check(condition: unknown, what: string): asserts condition {
  if (!condition) throw new Error(`pack-check failed: ${what}`)
  checks++
  console.log(`pack-check: ${what}`)
}

async function waitFor<T>(what: string, read: () => Promise<T | undefined>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await read().catch(() => undefined)
    if (value !== undefined) return value
    if (Date.now() > deadline) throw new Error(`pack-check failed: no ${what} within ${timeoutMs / 1000} s`)
    await new Promise((resolve) => setTimeout(resolve, 250))
  }
}

/** `npm pack` of the package into `dir`: the tarball and the files it holds. */
async function pack(dir: string): Promise<{ tarball: string; files: string[] }> {
  const { stdout } = await run('npm', ['pack', '--json', '--pack-destination', dir], { cwd: PACKAGE_DIR, maxBuffer: 16 * 1024 * 1024 })
  // prepack's build prints before the JSON.
  const [packed] = JSON.parse(stdout.slice(stdout.indexOf('['))) as { filename: string; files: { path: string }[] }[]
  if (!packed) throw new Error('npm pack printed no package')
  return { tarball: join(dir, packed.filename), files: packed.files.map((file) => file.path) }
}

async function stopSandbox(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.pid === undefined) return
  const exited = new Promise((resolve) => child.once('exit', resolve))
  // npx and the sandbox under it: the whole process group.
  process.kill(-child.pid, 'SIGINT')
  const timer = setTimeout(() => child.pid !== undefined && process.kill(-child.pid, 'SIGKILL'), 10_000)
  await exited
  clearTimeout(timer)
}

const work = await mkdtemp(join(tmpdir(), 'arc-pack-check-'))
const app = join(work, 'app')
let sandbox: ChildProcess | undefined
let output = ''
let passed = false
try {
  const { tarball, files } = await pack(work)
  for (const file of ['dist/index.js', 'dist/index.d.ts', 'dist/warm-function-runtime.js', 'vendor/local-aws-sqs/index.cjs', 'vendor/local-aws-sqs/LICENSE', 'README.md']) {
    check(files.includes(file), `the tarball holds ${file}`)
  }
  check(!files.some((file) => /\.ts$/.test(file) && !file.endsWith('.d.ts')), 'the tarball holds no TypeScript source: Node strips no types under node_modules')
  check(!files.some((file) => file.startsWith('test/') || file.startsWith('src/')), 'nor the tests and sources')

  for (const [file, text] of Object.entries(APP_FILES)) {
    await mkdir(join(app, file, '..'), { recursive: true })
    await writeFile(join(app, file), text)
  }
  const receipts = join(work, 'receipts.jsonl')
  // Architect's .env: the testing environment's variables.
  await writeFile(join(app, '.env'), `RECEIPTS_FILE=${receipts}\n`)

  console.log(`pack-check: npm install @architect/architect @architect/functions ${tarball} in ${app}`)
  await run('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error', '@architect/architect@12', '@architect/functions@8', tarball], { cwd: app, maxBuffer: 16 * 1024 * 1024 })
  const installed = join(app, 'node_modules', 'arc-plugin-sqs-queues')
  check(!(await lstat(installed)).isSymbolicLink() && (await realpath(installed)).startsWith(app), 'the app has its own copy of the package, not a link into the repository')
  const manifest = JSON.parse(await readFile(join(installed, 'package.json'), 'utf8')) as { scripts?: Record<string, string> }
  check(!SCRIPTS_THAT_RUN_AT_INSTALL.some((name) => manifest.scripts?.[name]), 'the package has no install script')

  sandbox = spawn('npx', ['arc', 'sandbox'], {
    cwd: app,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...Object.fromEntries(Object.entries(PORTS).map(([name, port]) => [name, String(port)])) },
  })
  sandbox.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()))
  sandbox.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()))
  await waitFor('sandbox with the local queues', async () => (output.includes('[queues] Local SQS listening') ? true : undefined), 60_000)
  check(true, '`npx arc sandbox` started the app with the plugin')

  const sqs = new SQSClient({ endpoint: `http://127.0.0.1:${PORTS.ARC_SQS_PORT}`, region: 'us-west-2', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } })
  const { Attributes = {} } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: `http://127.0.0.1:${PORTS.ARC_SQS_PORT}/000000000000/tasks`, AttributeNames: ['All'] }))
  sqs.destroy()
  check(Attributes.VisibilityTimeout === '45' && Attributes.RedrivePolicy?.includes('tasks-dlq'), 'the local queue has the keys of app.arc and its DLQ')

  const published = await waitFor(
    'answer from POST /publish',
    async () => {
      const response = await fetch(`http://localhost:${PORTS.PORT}/publish`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ count: MESSAGES }) })
      return response.status === 202 ? response : undefined
    },
    30_000,
  )
  check(published.ok, `a route published ${MESSAGES} messages with arc.queues.publish`)
  const batches = await waitFor(
    'delivery of every message',
    async () => {
      const lines = (await readFile(receipts, 'utf8')).split('\n').filter(Boolean)
      const seen = lines.map((line) => JSON.parse(line) as { id: string; eventSource: string; receiveCount: string }[])
      return seen.flat().length >= MESSAGES ? seen : undefined
    },
    30_000,
  )
  const records = batches.flat()
  check(new Set(records.map((record) => record.id)).size === MESSAGES && records.length === MESSAGES, 'the consumer got every message once')
  check(records.every((record) => record.eventSource === 'aws:sqs' && record.receiveCount === '1'), 'as SQS records from the local queue')
  check(batches.some((batch) => batch.length > 1), `in real batches (sizes ${batches.map((batch) => batch.length).join(', ')}), not one invocation per publish`)
  check(/\[queues\] @queues tasks: batch #1/.test(output), "and sandbox's log shows the plugin's batches")
  passed = true
} finally {
  if (sandbox) await stopSandbox(sandbox)
  if (passed) await rm(work, { recursive: true, force: true })
  else console.error(`pack-check: kept ${work} to look into; sandbox's output:\n${output}`)
}
console.log(`pack-check: all ${checks} checks passed`)
