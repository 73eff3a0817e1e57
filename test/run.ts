import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { readdir, readFile, writeFile } from 'node:fs/promises'
import { join, relative } from 'node:path'
import { buildHandlers, HANDLERS_BUILD_VARIABLE, removeBuild, ROOT } from '../scripts/lib/harness/index.ts'

/**
 * `npm test`: the strict type checks, then every test file (test/, and each
 * workspace's packages/<name>/test/) in its own Node process; closes with
 * `N passed, N failed` and exits non-zero on any failure. npm runs `pretest`
 * first, which builds the workspaces: the app uses them as built JavaScript.
 * `npm test -- unit` runs only the files whose path contains "unit".
 *
 * The handlers are built once, beside the type checks, and every app a test
 * starts links to that build (scripts/lib/harness/handler-build.ts). Most of a
 * sandbox test's time is waiting (visibility timeouts, backoff, a slow
 * downstream), so files run in TEST_LANES lanes at once, longest first (by the
 * times the last full run recorded, else test/durations.json), each lane with
 * a TEST_PORT_OFFSET of its own for the few servers still on fixed ports (the
 * harness gives apps free ports). Latency comparisons are made robust to a
 * busy machine in the tests themselves, so every file runs in the lanes. Each
 * file's output is printed whole when it ends, so lanes do not interleave.
 */
const FILE_TIMEOUT_MS = 5 * 60 * 1000
const LANES = Math.max(1, Number(process.env.TEST_LANES || 3))
const BASE_OFFSET = Number(process.env.TEST_PORT_OFFSET || 0)
const LANE_PORT_STEP = 1000
/** Seconds per file of the last full run (written at its end), and the committed ones a fresh clone starts from. */
const RECORDED_TIMES = join(ROOT, '.tmp', 'test-durations.json')
const COMMITTED_TIMES = join(ROOT, 'test', 'durations.json')

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

function runFile(file: string, env: NodeJS.ProcessEnv): Promise<FileResult> {
  return new Promise((resolve) => {
    const started = Date.now()
    const child = spawn(process.execPath, [file], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env })
    let output = ''
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()))
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()))
    const timer = setTimeout(() => {
      output += `\nnot ok - ${relative(ROOT, file)} did not finish within ${FILE_TIMEOUT_MS / 1000} s\n`
      child.kill('SIGKILL')
    }, FILE_TIMEOUT_MS)
    child.on('close', (code) => {
      clearTimeout(timer)
      const seconds = (Date.now() - started) / 1000
      const passed = Number(/^# pass\s+(\d+)/m.exec(output)?.[1] ?? 0)
      let failed = Number(/^# fail\s+(\d+)/m.exec(output)?.[1] ?? 0)
      // A crash or a timeout counts as a failure even when tape printed no count.
      if (code !== 0 && failed === 0) failed = 1
      process.stdout.write(`\n### ${relative(ROOT, file)} (${Math.round(seconds)} s)\n${output}`)
      resolve({ passed, failed, seconds })
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
const started = Date.now()
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
    else failed++
  }
})()

const needsBuild = (file: string): boolean => relative(ROOT, file).startsWith('test/') && !relative(ROOT, file).startsWith('test/unit/')
const recorded = await durations()
const secondsOf = (file: string): number => recorded[relative(ROOT, file)] ?? 0
const queue = [...files].sort((a, b) => secondsOf(b) - secondsOf(a))
const times: Record<string, number> = {}

/** The next file a lane can run: the longest that needs no build while the build runs, else the longest. */
async function nextFile(): Promise<{ file: string; build?: string } | undefined> {
  if (!built) {
    const index = queue.findIndex((file) => !needsBuild(file))
    if (index >= 0) return { file: queue.splice(index, 1)[0]! }
    await building
  }
  const file = queue.shift()
  if (!file) return undefined
  if (!built || 'error' in built) {
    if (!needsBuild(file)) return { file }
    // The build failed: the files that need it are not run (the failure is counted once, below).
    return nextFile()
  }
  return { file, build: built.build }
}

await Promise.all(
  Array.from({ length: LANES }, async (_, lane) => {
    for (let next = await nextFile(); next; next = await nextFile()) {
      const env = { ...process.env, TEST_PORT_OFFSET: String(BASE_OFFSET + lane * LANE_PORT_STEP), ...(next.build && { [HANDLERS_BUILD_VARIABLE]: next.build }) }
      const result = await runFile(next.file, env)
      passed += result.passed
      failed += result.failed
      times[relative(ROOT, next.file)] = Math.round(result.seconds * 10) / 10
    }
  }),
)
await typeChecks
const outcome = await building
if ('error' in outcome) {
  console.log(`not ok - the handlers' build failed: ${outcome.error}`)
  failed++
} else {
  console.log(`ok - handlers built once for this run (${relative(ROOT, outcome.build)})`)
  passed++
  await removeBuild(outcome.build)
}
// A full run records its times for the next one's order.
if (!filters.length) await writeFile(RECORDED_TIMES, `${JSON.stringify(times, null, 2)}\n`)

console.log(`\nTotal time ${Math.round((Date.now() - started) / 1000)} s`)
console.log(`${passed} passed, ${failed} failed`)
process.exit(failed === 0 && passed > 0 ? 0 : 1)
