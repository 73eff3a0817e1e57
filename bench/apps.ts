import { spawn, type ChildProcess } from 'node:child_process'
import { createWriteStream } from 'node:fs'
import { cp, mkdir, rm, symlink, writeFile } from 'node:fs/promises'
import { dirname, join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { type PortSet, prepareAppCopy, type QueueOverrides, ROOT } from '../scripts/lib/harness/index.ts'

/**
 * The apps a bench run measures, each started exactly as `npm start` starts the
 * product (`node scripts/start.ts` in the app's folder, settings from the
 * environment), in its own process so that the sandbox does not share an event
 * loop with the load generator and the sampler.
 */
export const BENCH_DIR = join(ROOT, '.tmp', 'bench')
const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), 'fixtures')
const SHARED_FILES = ['package.json', 'preferences.arc', 'tsconfig.json', 'esbuild.config.cjs', 'types']
/** The V8 code cache the queue-leveling plugin gives the product's Lambdas; the fixtures get the same one. */
export const COMPILE_CACHE = join(ROOT, 'node_modules', '.cache', 'node-compile-cache')

/** A copy of the product under .tmp/bench/<name> with the bench's @queues keys. */
export async function productCopy(name: string, queue: QueueOverrides): Promise<string> {
  return prepareAppCopy({ name: `bench/${name}`, queue })
}

/**
 * A copy of a fixture app (bench/fixtures/<fixture>) under .tmp/bench/<fixture>,
 * with the product's build settings, so its handlers are built by the same
 * esbuild configuration and run by the same sandbox.
 *
 * The sync fixture imports the product's src/lib by a path six levels up, which
 * names the same folder from bench/fixtures/<name>/src/http/<route>/ and from
 * .tmp/bench/<name>/src/http/<route>/: keep both at that depth.
 */
export async function fixtureCopy(fixture: string): Promise<string> {
  const dir = join(BENCH_DIR, fixture)
  if (relative(ROOT, dir).split('/').length !== 3) throw new Error(`fixture copies must sit at .tmp/bench/<name> (got ${dir})`)
  await rm(dir, { recursive: true, force: true })
  await mkdir(dir, { recursive: true })
  await cp(join(FIXTURES, fixture), dir, { recursive: true })
  for (const file of SHARED_FILES) await cp(join(ROOT, file), join(dir, file), { recursive: true })
  await symlink(join(ROOT, 'node_modules'), join(dir, 'node_modules'), 'dir')
  // The handlers are CommonJS bundles in an ESM package (the product's plugin does the same for its build).
  await mkdir(join(dir, '.build'), { recursive: true })
  await writeFile(join(dir, '.build', 'package.json'), '{ "type": "commonjs" }\n')
  // Architect's .env is the sandbox's "testing" environment.
  await writeFile(join(dir, '.env'), `NODE_COMPILE_CACHE=${COMPILE_CACHE}\n`)
  return dir
}

export interface RunningApp {
  name: string
  cwd: string
  baseUrl: string
  ports: PortSet
  log: string
  stop(): Promise<void>
}

/**
 * Starts `node scripts/start.ts` in `cwd`; resolves once the sandbox has run its
 * startup plugins (the TypeScript build, the local queues): it prints "Local
 * environment ready" before they run, while requests still fail.
 */
const READY = /Ran Sandbox startup plugins? in/
export async function startApp(name: string, cwd: string, ports: PortSet, env: Record<string, string>, timeoutMs = 180_000): Promise<RunningApp> {
  const log = join(BENCH_DIR, `${name}.log`)
  await mkdir(BENCH_DIR, { recursive: true })
  const logStream = createWriteStream(log)
  // The bench mints the tokens of each app's own local issuer: an issuer (or scope names) of the shell's would refuse them.
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('AUTH_')))
  const child: ChildProcess = spawn(process.execPath, [join(ROOT, 'scripts', 'start.ts')], {
    cwd,
    env: {
      ...inherited,
      // As npm puts them first for `npm start`.
      PATH: `${join(ROOT, 'node_modules', '.bin')}:${process.env.PATH ?? ''}`,
      ...Object.fromEntries(Object.entries(ports).map(([key, value]) => [key, String(value)])),
      POWERTOOLS_LOG_LEVEL: 'WARN',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  child.stdout?.pipe(logStream, { end: false })
  child.stderr?.pipe(logStream, { end: false })
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))

  const ready = new Promise<void>((resolve, reject) => {
    let seen = ''
    const timer = setTimeout(() => reject(new Error(`${name} did not start within ${timeoutMs / 1000} s (see ${log})`)), timeoutMs)
    child.stdout?.on('data', (chunk: Buffer) => {
      seen = (seen + chunk.toString()).slice(-2000)
      if (READY.test(seen)) {
        clearTimeout(timer)
        resolve()
      }
    })
    void exited.then((code) => {
      clearTimeout(timer)
      reject(new Error(`${name} exited with code ${code} before it was ready (see ${log})`))
    })
  })
  try {
    await ready
  } catch (error) {
    if (child.exitCode === null) child.kill('SIGKILL')
    throw error
  }

  return {
    name,
    cwd,
    baseUrl: `http://localhost:${ports.PORT}`,
    ports,
    log,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return
      child.kill('SIGTERM')
      const timer = setTimeout(() => child.kill('SIGKILL'), 20_000)
      await exited
      clearTimeout(timer)
      logStream.end()
    },
  }
}
