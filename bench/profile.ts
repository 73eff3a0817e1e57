import { spawn } from 'node:child_process'
import { readdir, stat } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { dirname, join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { build, type BuildOptions } from 'esbuild'
import { localIssuerSettings } from '../src/plugins/queue-leveling/local-issuer.ts'
import { type PortSet, ROOT } from '../scripts/lib/harness/index.ts'
import { COMPILE_CACHE } from './apps.ts'
import { median } from './stats.ts'

/**
 * Where the time of one sandbox request goes: every request is a new Node
 * process that loads its handler's bundle, discovers the app's tables and makes
 * its calls. Each figure here is a median over fresh processes.
 */
const PROBE = join(dirname(fileURLToPath(import.meta.url)), 'probe.ts')

export interface BundleFinding {
  name: string
  bytes: number
  /** require() of the bundle with the V8 code cache the plugin gives the Lambdas (NODE_COMPILE_CACHE). */
  requireMs: number
  /** ...and without it. */
  requireMsNoCache: number
  /** Files the bundle loads from node_modules when it is required: externals left out of it. */
  externalFiles: number
  externalPackages: string[]
}

export interface PackageFinding {
  name: string
  /** Bytes of the minified POST /tasks bundle that come from this family of packages. */
  bytes: number
  share: number
}

export interface ImportFinding {
  name: string
  /** require() of the package on its own (unbundled, from node_modules) in a fresh process. */
  requireMs: number | null
}

export interface ProfileFindings {
  /** Wall time of `node -e ""`: the floor of every invocation. */
  nodeStartMs: number
  bundles: BundleFinding[]
  postTasksPackages: PackageFinding[]
  /** The packages the app's handlers import, each required alone. */
  imports: ImportFinding[]
  /**
   * @architect/functions service discovery in a fresh process: arc.services() (loads @aws-lite/client
   * and its SSM plugin, then one SSM round trip to the sandbox), arc.tables() after it, and the
   * round trip alone (a raw HTTP request, new connection each).
   */
  discovery: { servicesMs: number; tablesMs: number; roundTripMs: number | null } | null
  /** The POST /tasks bundle run outside the sandbox against the bench app: require, first (cold) call, later (warm) calls. */
  handler: { requireMs: number; coldMs: number; warmMs: number } | null
  /** Task ids the handler probe created (they are delivered like any other). */
  probeTaskIds: string[]
}

interface ChildResult {
  wallMs: number
  stdout: string
}

function runNode(args: string[], env: Record<string, string | undefined>): Promise<ChildResult> {
  return new Promise((resolve, reject) => {
    const started = performance.now()
    const child = spawn(process.execPath, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()))
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
    child.on('error', reject)
    child.on('close', (code) => {
      const wallMs = performance.now() - started
      if (code === 0) resolve({ wallMs, stdout })
      else reject(new Error(`node ${args.join(' ').slice(0, 80)} exited ${code}: ${stderr.trim().split('\n').slice(-3).join(' | ')}`))
    })
  })
}

function lastJson<T>(stdout: string): T {
  const line = stdout.trim().split('\n').filter((entry) => entry.startsWith('{')).at(-1)
  if (!line) throw new Error(`no JSON in probe output: ${stdout.slice(0, 200)}`)
  return JSON.parse(line) as T
}

/** The environment the sandbox gives the product's Lambdas (see @architect/sandbox invoke-lambda/env and the queue-leveling plugin). */
export function lambdaEnv(cwd: string, ports: PortSet, extra: Record<string, string>): Record<string, string | undefined> {
  const require = createRequire(import.meta.url)
  const { version } = require('@architect/sandbox/package.json') as { version: string }
  const sqs = `http://127.0.0.1:${ports.ARC_SQS_PORT}`
  return {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    AWS_ACCESS_KEY_ID: 'local',
    AWS_SECRET_ACCESS_KEY: 'local',
    AWS_REGION: 'us-east-1',
    TZ: 'UTC',
    ARC_APP_NAME: 'queue-leveling',
    ARC_ENV: 'testing',
    ARC_ROLE: 'SandboxRole',
    ARC_SANDBOX: JSON.stringify({ cwd, ports: { http: ports.PORT, events: ports.ARC_EVENTS_PORT, tables: ports.ARC_TABLES_PORT, _arc: ports.ARC_INTERNAL_PORT }, version }),
    AWS_ENDPOINT_URL_SQS: sqs,
    AWS_ENDPOINT_URL_DYNAMODB: `http://127.0.0.1:${ports.ARC_TABLES_PORT}`,
    NOTIFICATIONS_QUEUE_URL: `${sqs}/000000000000/notifications`,
    NOTIFICATIONS_DLQ_URL: `${sqs}/000000000000/notifications-dlq`,
    NODE_COMPILE_CACHE: COMPILE_CACHE,
    POWERTOOLS_LOG_LEVEL: 'WARN',
    // What the queue-leveling plugin gives a local run with no issuer configured: its local issuer.
    ...localIssuerSettings(ports.LOCAL_ISSUER_PORT),
    ...extra,
  }
}

/** The product's bundles worth timing: the create, a read, the smallest route and the consumer. */
const PROFILED = ['http/post-tasks', 'http/get-tasks', 'http/any-catchall', 'queues/notifications']

async function bundlesOf(buildDir: string): Promise<{ name: string; path: string }[]> {
  const found: { name: string; path: string }[] = []
  for (const pragma of ['http', 'queues', 'scheduled']) {
    const entries = await readdir(join(buildDir, pragma)).catch(() => [] as string[])
    for (const entry of entries.sort()) found.push({ name: `${pragma}/${entry}`, path: join(buildDir, pragma, entry, 'index.js') })
  }
  return found.filter((bundle) => PROFILED.includes(bundle.name))
}

/** What the handlers import (src/), each of which brings its own dependencies. */
const IMPORTS = ['@aws-sdk/client-sqs', '@aws-sdk/client-dynamodb', '@architect/functions', '@aws-lambda-powertools/idempotency', '@aws-lambda-powertools/logger', 'zod/mini']

/** The family of packages a bundled input file comes from: the AWS SDK v3 stack counts as one. */
function familyOf(input: string): string {
  const parts = input.split('/')
  const at = parts.lastIndexOf('node_modules')
  if (at === -1) return input.includes('src/') ? 'the app (src/)' : input
  const first = parts[at + 1] ?? input
  const name = first.startsWith('@') ? `${first}/${parts[at + 2] ?? ''}` : first
  if (/^@(aws-sdk|smithy|aws-crypto|aws)\//.test(name) || ['fast-xml-parser', 'strnum', 'bowser', 'tslib', 'uuid', 'mnemonist', 'obliterator'].includes(name)) {
    return 'AWS SDK v3 (@aws-sdk/*, @smithy/*: client-sqs)'
  }
  if (name.startsWith('@aws-lite/') || name === '@architect/functions' || name.startsWith('@architect/')) return '@architect/functions with @aws-lite/*'
  if (name.startsWith('@aws-lambda-powertools/')) return 'Powertools (@aws-lambda-powertools/*)'
  if (name === 'zod') return 'zod (zod/mini)'
  return name
}

/** Bytes per package in the POST /tasks bundle, built exactly as @architect/plugin-typescript builds it. */
async function postTasksComposition(appDir: string): Promise<PackageFinding[]> {
  const require = createRequire(import.meta.url)
  const config = require(join(appDir, 'esbuild.config.cjs')) as BuildOptions
  const result = await build({
    ...config,
    entryPoints: [join(appDir, 'src/http/post-tasks/index.ts')],
    bundle: true,
    platform: 'node',
    format: 'cjs',
    outfile: join(appDir, '.profile', 'post-tasks.js'),
    tsconfig: join(appDir, 'tsconfig.json'),
    write: false,
    metafile: true,
    logLevel: 'silent',
  })
  const bytes = new Map<string, number>()
  for (const output of Object.values(result.metafile.outputs)) {
    for (const [input, { bytesInOutput }] of Object.entries(output.inputs)) {
      const name = familyOf(input)
      bytes.set(name, (bytes.get(name) ?? 0) + bytesInOutput)
    }
  }
  const total = [...bytes.values()].reduce((sum, size) => sum + size, 0)
  return [...bytes.entries()].map(([name, size]) => ({ name, bytes: size, share: size / total })).sort((a, b) => b.bytes - a.bytes)
}

export interface ProfileTargets {
  /** The product's bench copy (built: its .build holds the bundles). */
  appDir: string
  appPorts: PortSet
  /** Extra bundles to time beside the product's (the fixtures'). */
  extraBundles: { name: string; path: string }[]
  samples: number
  env: Record<string, string>
  /** The Authorization header of the handler probe's POST /tasks (a token of the bench app's issuer). */
  bearer: string
  onProgress(fraction: number, detail: string): void
}

export async function profileSandboxCost(targets: ProfileTargets): Promise<ProfileFindings> {
  const { appDir, appPorts, samples } = targets
  const env = lambdaEnv(appDir, appPorts, targets.env)
  const noCache = { ...env, NODE_COMPILE_CACHE: undefined }
  const bundles = [...(await bundlesOf(join(appDir, '.build'))), ...targets.extraBundles]
  const packages = await postTasksComposition(appDir)
  const steps = samples * (1 + bundles.length * 2) + IMPORTS.length * samples + samples + 1
  let done = 0
  const tick = (detail: string): void => targets.onProgress(++done / steps, detail)

  const starts: number[] = []
  for (let index = 0; index < samples; index++) {
    starts.push((await runNode(['-e', ''], env)).wallMs)
    tick('node start')
  }

  const bundleFindings: BundleFinding[] = []
  for (const bundle of bundles) {
    const cached: number[] = []
    const uncached: number[] = []
    // One process first, unmeasured, so that the code cache holds this build of the bundle.
    const first = lastJson<{ externalFiles: number; externalPackages: string[] }>((await runNode([PROBE, 'require', bundle.path], env)).stdout)
    for (let index = 0; index < samples; index++) {
      cached.push(lastJson<{ requireMs: number }>((await runNode([PROBE, 'require', bundle.path], env)).stdout).requireMs)
      tick(`require ${bundle.name}`)
      uncached.push(lastJson<{ requireMs: number }>((await runNode([PROBE, 'require', bundle.path], noCache)).stdout).requireMs)
      tick(`require ${bundle.name}, no code cache`)
    }
    bundleFindings.push({
      name: bundle.name,
      bytes: (await stat(bundle.path)).size,
      requireMs: median(cached),
      requireMsNoCache: median(uncached),
      externalFiles: first.externalFiles,
      externalPackages: first.externalPackages,
    })
  }

  const imports: ImportFinding[] = []
  for (const name of IMPORTS) {
    const times: number[] = []
    for (let index = 0; index < samples; index++) {
      const probe = await runNode(['-e', `const t=performance.now();require(${JSON.stringify(name)});console.log(JSON.stringify({requireMs:performance.now()-t}))`], env).catch(() => undefined)
      if (probe) times.push(lastJson<{ requireMs: number }>(probe.stdout).requireMs)
      tick(`require ${name}`)
    }
    imports.push({ name, requireMs: times.length ? median(times) : null })
  }

  const discoveries: { servicesMs: number; tablesMs: number }[] = []
  for (let index = 0; index < samples; index++) {
    const probe = await runNode([PROBE, 'discovery'], env).catch(() => undefined)
    if (probe) discoveries.push(lastJson(probe.stdout))
    tick('arc.tables() discovery')
  }

  const roundTrips = await runNode([PROBE, 'ssm', String(Math.max(5, samples * 2))], env)
    .then((probe) => lastJson<{ roundTripsMs: number[] }>(probe.stdout).roundTripsMs)
    .catch(() => [] as number[])

  let handler: ProfileFindings['handler'] = null
  const probeTaskIds: string[] = []
  const postTasks = bundles.find((bundle) => bundle.name === 'http/post-tasks')
  if (postTasks) {
    const runs: { requireMs: number; callsMs: number[]; taskIds: string[] }[] = []
    for (let index = 0; index < Math.max(1, Math.ceil(samples / 2)); index++) {
      const probe = await runNode([PROBE, 'handler', postTasks.path, '4'], { ...env, PROBE_AUTHORIZATION: targets.bearer }).catch(() => undefined)
      if (probe) runs.push(lastJson(probe.stdout))
    }
    for (const run of runs) probeTaskIds.push(...run.taskIds)
    if (runs.length) {
      handler = {
        requireMs: median(runs.map((run) => run.requireMs)),
        coldMs: median(runs.map((run) => run.callsMs[0] ?? NaN)),
        warmMs: median(runs.flatMap((run) => run.callsMs.slice(1))),
      }
    }
  }
  tick('handler')

  return {
    nodeStartMs: median(starts),
    bundles: bundleFindings,
    postTasksPackages: packages,
    imports,
    discovery: discoveries.length
      ? {
          servicesMs: median(discoveries.map((entry) => entry.servicesMs)),
          tablesMs: median(discoveries.map((entry) => entry.tablesMs)),
          roundTripMs: roundTrips.length ? median(roundTrips) : null,
        }
      : null,
    handler,
    probeTaskIds,
  }
}

export const relativeToRoot = (path: string): string => relative(ROOT, path)
