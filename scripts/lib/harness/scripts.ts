import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { join } from 'node:path'
import { ROOT } from '../app-copy.ts'

export interface ScriptResult {
  code: number | null
  stdout: string
  stderr: string
}

/**
 * Runs one of the project's command-line tools as `npm run <name> -- <args>`
 * runs it (`node scripts/<name>.ts` from the project root, without npm's own
 * start-up), with `env` over this process's environment, e.g. the ports of a
 * test's app. Its stdin is a pipe holding `input`, never a terminal.
 */
export async function runScript(name: string, args: string[], options: { env?: Record<string, string>; input?: string } = {}): Promise<ScriptResult> {
  const child = spawn(process.execPath, [join(ROOT, 'scripts', `${name}.ts`), ...args], { cwd: ROOT, env: { ...process.env, ...options.env } })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()))
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
  child.stdin.end(options.input ?? '')
  const [code] = (await once(child, 'close')) as [number | null]
  return { code, stdout, stderr }
}
