import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { setPriority } from 'node:os'
import { join, relative } from 'node:path'
import { buildHandlers, HANDLERS_BUILD_VARIABLE, removeBuild, ROOT } from '../scripts/lib/harness/index.ts'
import { BATCH_SECONDS_PREFIX } from './batch.ts'

/**
 * `npm test`: the strict type checks, then every test file (test/, and each
 * workspace's packages/<name>/test/) in its own Node process, but the unit
 * tests (below); closes with
 * `N passed, N failed` and exits non-zero on any failure. npm runs `pretest`
 * first, which builds the workspaces: the app uses them as built JavaScript.
 * `npm test -- unit` runs only the files whose path contains "unit".
 *
 * The unit tests (test/unit/) run together in UNIT_BATCHES processes
 * (test/batch.ts), their files spread by their recorded times: each costs
 * more to start than to run.
 *
 * The handlers are built once, beside the type checks, and every app a test
 * starts links to that build (scripts/lib/harness/handler-build.ts). Most of a
 * sandbox test's time is waiting (visibility timeouts, backoff, a slow
 * downstream), so files run in TEST_LANES lanes at once, longest first (by the
 * times the last full run recorded, else test/durations.json), each lane with
 * a TEST_PORT_OFFSET of its own for the few servers still on fixed ports (the
 * harness gives apps free ports). Latency comparisons are made robust to a
 * busy machine in the tests themselves (alternating rounds, measured again
 * when the first answer is over the limit) and by running the other files a
 * little below them (TIMED_FILES), so every file runs in the lanes. Each
 * file's output is printed whole when it ends, so lanes do not interleave.
 */
const FILE_TIMEOUT_MS = 5 * 60 * 1000
const LANES = Math.max(1, Number(process.env.TEST_LANES || 4))
const BASE_OFFSET = Number(process.env.TEST_PORT_OFFSET || 0)
const LANE_PORT_STEP = 1000
const UNIT_BATCHES = 2
/**
 * The files whose assertions read the clock closely: the rate cap (never more
 * than the cap in any one-second window at the downstream, where the pacer's gap
 * leaves a paced call 80 ms of delay on its way; measured again on a violation)
 * and the latency comparison. Every other file runs a little below them
 * (nice NEIGHBOUR_NICE, which its sandbox and Lambdas inherit): at one
 * priority, five lanes held paced calls up to 130 ms after their slots. Mild on
 * purpose: at nice 19 the neighbours starved, and their own windows broke.
 */
const TIMED_FILES = new Set(['test/leveling.test.ts', 'test/breaker-control.test.ts'])
const NEIGHBOUR_NICE = 5
const BATCH = join(ROOT, 'test', 'batch.ts')
/** Seconds per file of the last full run (written at its end), and the committed ones a fresh clone starts from. */
const RECORDED_TIMES = join(ROOT, '.tmp', 'test-durations.json')
const COMMITTED_TIMES = join(ROOT, 'test', 'durations.json')
/**
 * V8's code cache on disk (Node's module compile cache) for every process of the run: some thirty test processes and
 * their Lambdas load the same SDK, sandbox and bundles, and compiling them again is about a seventh of a sandbox
 * file's CPU. One folder per run, removed at its end: the bundles and app copies sit at new paths each run, so a
 * folder kept between runs grew by some 30 MB a run with entries no later run reads. A NODE_COMPILE_CACHE of the
 * caller's own is used as it is, and kept.
 */
const COMPILE_CACHE = join(ROOT, '.tmp', `node-compile-cache-${process.pid}`)

/** The workspaces (packages/*), each with its own tests under its test/ folder and its own type check. */
async function packageDirs(): Promise<string[]> {
  const entries = await readdir(join(ROOT, 'packages'), { withFileTypes: true }).catch(() => [])
  return entries.filter((entry) => entry.isDirectory()).map((entry) => join(ROOT, 'packages', entry.name))
}

async function testFiles(): Promise<string[]> {
  const found: string[] = []
  for (const dir of ['test/unit', 'test']) {
    for (const entry of (await readdir(join(ROOT, dir))).sort()) {
      if (entry.endsWith('.test.ts')) found.push(join(ROOT, dir, entry))
    }
  }
  for (const dir of await packageDirs()) {
    const tests = join(dir, 'test')
    const entries = await readdir(tests, { recursive: true }).catch(() => [])
    // A package's mock apps are apps, not tests.
    for (const entry of entries.sort()) if (entry.endsWith('.test.ts') && !entry.startsWith('mock/')) found.push(join(tests, entry))
  }
  return found
}

async function durations(): Promise<Record<string, number>> {
  for (const file of [RECORDED_TIMES, COMMITTED_TIMES]) {
    if (existsSync(file)) return JSON.parse(await readFile(file, 'utf8')) as Record<string, number>
  }
  return {}
}

interface FileResult {
  passed: number
  failed: number
  seconds: number
}

/** What a lane runs in one process: a test file, or a batch of unit test files. */
interface Job {
  label: string
  files: string[]
  /** The recorded seconds, for the order. */
  seconds: number
}

function runJob(job: Job, env: NodeJS.ProcessEnv): Promise<FileResult & { output: string }> {
  return new Promise((resolve) => {
    const started = Date.now()
    const args = isUnit(job.files[0]!) ? [BATCH, ...job.files] : job.files
    const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env })
    if (child.pid !== undefined && !job.files.some((file) => TIMED_FILES.has(relative(ROOT, file)))) {
      try {
        setPriority(child.pid, NEIGHBOUR_NICE)
      } catch {
        // Gone already (it failed to start): its exit reports that.
      }
    }
    let output = ''
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()))
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()))
    const timer = setTimeout(() => {
      output += `\nnot ok - ${job.label} did not finish within ${FILE_TIMEOUT_MS / 1000} s\n`
      child.kill('SIGKILL')
    }, FILE_TIMEOUT_MS)
    child.on('close', (code) => {
      clearTimeout(timer)
      const seconds = (Date.now() - started) / 1000
      const passed = Number(/^# pass\s+(\d+)/m.exec(output)?.[1] ?? 0)
      let failed = Number(/^# fail\s+(\d+)/m.exec(output)?.[1] ?? 0)
      // A crash or a timeout counts as a failure even when tape printed no count.
      if (code !== 0 && failed === 0) failed = 1
      process.stdout.write(`\n### ${job.label} (${Math.round(seconds)} s)\n${output}`)
      resolve({ passed, failed, seconds, output })
    })
  })
}

/** The strict type check of a project (tsconfig.json in `dir`), its output kept until it ends. */
function typeCheck(dir: string): Promise<{ ok: boolean; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', dir], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] })
    let output = ''
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()))
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()))
    child.on('close', (code) => resolve({ ok: code === 0, output }))
  })
}

let passed = 0
let failed = 0
/** Each failed assertion with its file, repeated above the closing line: a long run's failure is easy to miss in its output. */
const failures: string[] = []
const started = Date.now()
const ownCompileCache = !process.env.NODE_COMPILE_CACHE
if (ownCompileCache) process.env.NODE_COMPILE_CACHE = COMPILE_CACHE
const filters = process.argv.slice(2)
const all = await testFiles()
const files = filters.length ? all.filter((file) => filters.some((filter) => file.includes(filter))) : all

// The strict type checks (the app's, then each package's) and the handlers' build run beside the first test files: a type
// error fails the suite like any other test. Only the app's own sandbox tests (test/*.test.ts) need the build; until it
// is done the lanes take the other files (unit tests, the packages' tests), longest first all the same.
const building = buildHandlers(`handlers-build-run-${process.pid}`).then(
  (build) => ({ build }),
  (error: unknown) => ({ error: error instanceof Error ? error.message : String(error) }),
)
let built: Awaited<typeof building> | undefined
void building.then((result) => (built = result))
const typeChecks = (async () => {
  for (const dir of [ROOT, ...(await packageDirs())]) {
    const name = relative(ROOT, dir) || '.'
    const { ok, output } = await typeCheck(dir)
    process.stdout.write(`### tsc -p ${name} (strict type check)\n${output}`)
    console.log(`${ok ? 'ok' : 'not ok'} - type check ${name}`)
    if (ok) passed++
    else {
      failed++
      failures.push(`tsc -p ${name}: not ok - type check`)
    }
  }
})()

const isUnit = (file: string): boolean => relative(ROOT, file).startsWith('test/unit/')
const needsBuild = (job: Job): boolean => job.files.some((file) => relative(ROOT, file).startsWith('test/') && !isUnit(file))
const recorded = await durations()
const secondsOf = (file: string): number => recorded[relative(ROOT, file)] ?? 0
const longestFirst = (a: { seconds: number }, b: { seconds: number }): number => b.seconds - a.seconds

/** The unit test files spread over UNIT_BATCHES batches, longest first each to the batch with the fewest seconds yet. */
function unitBatches(units: string[]): Job[] {
  const batches = Array.from({ length: Math.min(UNIT_BATCHES, units.length) }, (_, index) => ({ label: `test/unit batch ${index + 1}`, files: [] as string[], seconds: 0 }))
  for (const file of units.map((file) => ({ file, seconds: secondsOf(file) })).sort(longestFirst)) {
    const batch = batches.reduce((least, candidate) => (candidate.seconds < least.seconds ? candidate : least))
    batch.files.push(file.file)
    batch.seconds += file.seconds
  }
  for (const batch of batches) batch.label += ` (${batch.files.length} file${batch.files.length === 1 ? '' : 's'})`
  return batches
}

const queue: Job[] = [
  ...files.filter((file) => !isUnit(file)).map((file) => ({ label: relative(ROOT, file), files: [file], seconds: secondsOf(file) })),
  ...unitBatches(files.filter(isUnit)),
].sort(longestFirst)
const times: Record<string, number> = {}

/** The next job a lane can run: the longest that needs no build while the build runs, else the longest. */
async function nextJob(): Promise<{ job: Job; build?: string } | undefined> {
  if (!built) {
    const index = queue.findIndex((job) => !needsBuild(job))
    if (index >= 0) return { job: queue.splice(index, 1)[0]! }
    await building
  }
  const job = queue.shift()
  if (!job) return undefined
  if (!built || 'error' in built) {
    if (!needsBuild(job)) return { job }
    // The build failed: the files that need it are not run (the failure is counted once, below).
    return nextJob()
  }
  return { job, build: built.build }
}

await Promise.all(
  Array.from({ length: LANES }, async (_, lane) => {
    for (let next = await nextJob(); next; next = await nextJob()) {
      const env = { ...process.env, TEST_PORT_OFFSET: String(BASE_OFFSET + lane * LANE_PORT_STEP), ...(next.build && { [HANDLERS_BUILD_VARIABLE]: next.build }) }
      const result = await runJob(next.job, env)
      passed += result.passed
      failed += result.failed
      if (result.failed) {
        const notOk = result.output.split('\n').filter((line) => line.startsWith('not ok'))
        failures.push(...(notOk.length ? notOk : ['not ok - exited non-zero']).map((line) => `${next.job.label}: ${line}`))
      }
      if (next.job.files.length === 1) times[next.job.label] = Math.round(result.seconds * 10) / 10
      // A batch reports each file's seconds on its last line.
      const batchLine = result.output.split('\n').find((line) => line.startsWith(BATCH_SECONDS_PREFIX))
      if (batchLine) Object.assign(times, JSON.parse(batchLine.slice(BATCH_SECONDS_PREFIX.length)) as Record<string, number>)
    }
  }),
)
await typeChecks
const outcome = await building
if ('error' in outcome) {
  console.log(`not ok - the handlers' build failed: ${outcome.error}`)
  failed++
  failures.push(`not ok - the handlers' build failed`)
} else {
  console.log(`ok - handlers built once for this run (${relative(ROOT, outcome.build)})`)
  passed++
  await removeBuild(outcome.build)
}
if (ownCompileCache) await rm(COMPILE_CACHE, { recursive: true, force: true })
// A full run records its times for the next one's order.
if (!filters.length) await writeFile(RECORDED_TIMES, `${JSON.stringify(times, null, 2)}\n`)

if (failures.length) console.log(`\nFailed:\n${failures.join('\n')}`)
console.log(`\nTotal time ${Math.round((Date.now() - started) / 1000)} s`)
console.log(`${passed} passed, ${failed} failed`)
process.exit(failed === 0 && passed > 0 ? 0 : 1)
