import { spawn } from 'node:child_process'
import { readdir } from 'node:fs/promises'
import { cpus } from 'node:os'
import { join, relative } from 'node:path'
import { ROOT } from './helpers/app.ts'

/**
 * `npm test`: the strict type checks, then every test file (test/, and each
 * workspace's packages/<name>/test/) in its own Node process (each sandbox test
 * starts its own app); closes with `N passed, N failed`. npm runs `pretest`
 * first, which builds the workspaces: the app uses them as built JavaScript.
 * `npm test -- unit` runs only the files whose path contains "unit".
 *
 * Most of a sandbox test's time is waiting (visibility timeouts, backoff, a slow
 * downstream), so files run in TEST_LANES lanes at once (default 2), each lane on
 * ports of its own (TEST_PORT_OFFSET moved by 1000 per lane). Files that measure
 * latency run alone at the end, with nothing beside them, each once the CPUs
 * are quiet. Each file's output is printed whole when it ends, so lanes do not
 * interleave.
 */
const FILE_TIMEOUT_MS = 5 * 60 * 1000
const LANES = Math.max(1, Number(process.env.TEST_LANES || 2))
const BASE_OFFSET = Number(process.env.TEST_PORT_OFFSET || 0)
const LANE_PORT_STEP = 1000
/** Their assertions compare latencies: another test's load beside them would make them flaky. In this order. */
const ALONE = ['leveling.test.ts', 'dashboard.test.ts']
/** Before a file that runs alone, wait (up to this long) for the CPUs to be mostly idle: processes of the files before it may still be ending. */
const SETTLE_MAX_MS = 20_000
const SETTLED_IDLE_SHARE = 0.85

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
  const filters = process.argv.slice(2)
  return filters.length ? found.filter((file) => filters.some((filter) => file.includes(filter))) : found
}

interface FileResult {
  passed: number
  failed: number
  seconds: number
}

function runFile(file: string, portOffset: number): Promise<FileResult> {
  return new Promise((resolve) => {
    const started = Date.now()
    const child = spawn(process.execPath, [file], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, TEST_PORT_OFFSET: String(portOffset) } })
    let output = ''
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()))
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()))
    const timer = setTimeout(() => {
      output += `\nnot ok - ${relative(ROOT, file)} did not finish within ${FILE_TIMEOUT_MS / 1000} s\n`
      child.kill('SIGKILL')
    }, FILE_TIMEOUT_MS)
    child.on('close', (code) => {
      clearTimeout(timer)
      const seconds = Math.round((Date.now() - started) / 1000)
      const passed = Number(/^# pass\s+(\d+)/m.exec(output)?.[1] ?? 0)
      let failed = Number(/^# fail\s+(\d+)/m.exec(output)?.[1] ?? 0)
      // A crash or a timeout counts as a failure even when tape printed no count.
      if (code !== 0 && failed === 0) failed = 1
      process.stdout.write(`\n### ${relative(ROOT, file)} (${seconds} s)\n${output}`)
      resolve({ passed, failed, seconds })
    })
  })
}

/** The strict type check of a project (tsconfig.json in `dir`). */
function typeCheck(dir: string): Promise<boolean> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', dir], { cwd: ROOT, stdio: 'inherit' })
    child.on('close', (code) => resolve(code === 0))
  })
}

function idleTimes(): { idle: number; total: number } {
  let idle = 0
  let total = 0
  for (const cpu of cpus()) {
    idle += cpu.times.idle
    total += Object.values(cpu.times).reduce((sum, value) => sum + value, 0)
  }
  return { idle, total }
}

/** Waits until the CPUs were idle for SETTLED_IDLE_SHARE of a second, or SETTLE_MAX_MS. */
async function settle(): Promise<void> {
  const deadline = Date.now() + SETTLE_MAX_MS
  while (Date.now() < deadline) {
    const before = idleTimes()
    await new Promise((resolve) => setTimeout(resolve, 1000))
    const after = idleTimes()
    if ((after.idle - before.idle) / Math.max(1, after.total - before.total) >= SETTLED_IDLE_SHARE) return
  }
}

let passed = 0
let failed = 0
const started = Date.now()
// The strict type checks are the first tests (the app's, then each package's): a type error fails the suite like any other.
for (const dir of [ROOT, ...(await packageDirs())]) {
  const name = relative(ROOT, dir) || '.'
  console.log(`### tsc -p ${name} (strict type check)`)
  if (await typeCheck(dir)) {
    console.log(`ok - type check ${name}`)
    passed++
  } else {
    console.log(`not ok - type check ${name}`)
    failed++
  }
}

const files = await testFiles()
const alone = ALONE.flatMap((name) => files.filter((file) => file.endsWith(`/${name}`)))
const queue = files.filter((file) => !alone.includes(file))
const count = (result: FileResult): void => {
  passed += result.passed
  failed += result.failed
}
await Promise.all(
  Array.from({ length: LANES }, async (_, lane) => {
    for (let file = queue.shift(); file; file = queue.shift()) count(await runFile(file, BASE_OFFSET + lane * LANE_PORT_STEP))
  }),
)
for (const file of alone) {
  await settle()
  count(await runFile(file, BASE_OFFSET))
}

console.log(`\nTotal time ${Math.round((Date.now() - started) / 1000)} s`)
console.log(`${passed} passed, ${failed} failed`)
process.exit(failed === 0 && passed > 0 ? 0 : 1)
