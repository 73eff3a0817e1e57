import { spawn } from 'node:child_process'
import { readdir } from 'node:fs/promises'
import { join, relative } from 'node:path'
import { ROOT } from './helpers/app.ts'

/**
 * `npm test`: every test file in its own Node process (each sandbox test starts
 * its own app), one after another; closes with `N passed, N failed`.
 * `npm test -- unit` runs only the files whose path contains "unit".
 */
const FILE_TIMEOUT_MS = 5 * 60 * 1000

async function testFiles(): Promise<string[]> {
  const found: string[] = []
  for (const dir of ['test/unit', 'test']) {
    for (const entry of (await readdir(join(ROOT, dir))).sort()) {
      if (entry.endsWith('.test.ts')) found.push(join(ROOT, dir, entry))
    }
  }
  const filters = process.argv.slice(2)
  return filters.length ? found.filter((file) => filters.some((filter) => file.includes(filter))) : found
}

function runFile(file: string): Promise<{ passed: number; failed: number }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [file], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] })
    let output = ''
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString()
      process.stdout.write(chunk)
    })
    const timer = setTimeout(() => {
      console.log(`not ok - ${relative(ROOT, file)} did not finish within ${FILE_TIMEOUT_MS / 1000} s`)
      child.kill('SIGKILL')
    }, FILE_TIMEOUT_MS)
    child.on('close', (code) => {
      clearTimeout(timer)
      const passed = Number(/^# pass\s+(\d+)/m.exec(output)?.[1] ?? 0)
      let failed = Number(/^# fail\s+(\d+)/m.exec(output)?.[1] ?? 0)
      // A crash or a timeout counts as a failure even when tape printed no count.
      if (code !== 0 && failed === 0) failed = 1
      resolve({ passed, failed })
    })
  })
}

/** The strict type check is the first test: a type error fails the suite like any other. */
function typeCheck(): Promise<boolean> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', ROOT], { cwd: ROOT, stdio: 'inherit' })
    child.on('close', (code) => resolve(code === 0))
  })
}

let passed = 0
let failed = 0
const started = Date.now()
console.log('### tsc -p . (strict type check)')
if (await typeCheck()) {
  console.log('ok - type check')
  passed++
} else {
  console.log('not ok - type check')
  failed++
}
for (const file of await testFiles()) {
  console.log(`\n### ${relative(ROOT, file)}`)
  const result = await runFile(file)
  passed += result.passed
  failed += result.failed
}
console.log(`\nTotal time ${Math.round((Date.now() - started) / 1000)} s`)
console.log(`${passed} passed, ${failed} failed`)
process.exit(failed === 0 && passed > 0 ? 0 : 1)
