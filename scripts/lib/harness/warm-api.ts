import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { createRequire } from 'node:module'
import type { AddressInfo } from 'node:net'
import inventory, { type Inventory, type Lambda } from '@architect/inventory'
import { LocalQueueEvents } from 'arc-plugin-sqs-queues/local-events'
import { WarmFunction } from 'arc-plugin-sqs-queues/warm-function'
import type { PortSet } from './ports.ts'

/**
 * The app's HTTP API with its Lambdas kept warm: a second endpoint beside
 * the sandbox's, on the same tables, queues and issuer, answering through
 * sandbox's own HTTP pipeline (its router, its binary-body middleware, its
 * request formatter, response validator and formatter, the environment it
 * gives each Lambda), with one difference: each route's handler bundle runs
 * in a warm environment that serves invocation after invocation (the
 * sqs-queues package's WarmFunction, as Lambda keeps a container), where
 * sandbox starts a process per request. A request costs milliseconds instead
 * of a process start, so property tests can afford thousands; a few requests
 * through the sandbox itself keep the whole path honest, and
 * test/api/http-contract.ts checks that both answer alike.
 */

// Sandbox's own modules, so that this endpoint routes, encodes and formats exactly as sandbox does.
const fromSandbox = createRequire(createRequire(import.meta.url).resolve('@architect/sandbox'))
type Next = (error?: unknown) => void
type Middleware = (req: IncomingMessage, res: ServerResponse, next: Next) => void
interface RouterInstance {
  (req: IncomingMessage, res: ServerResponse, done: Next): void
  use(middleware: Middleware): void
  [method: string]: unknown
}
const Router = fromSandbox('router') as (options: { mergeParams: boolean }) => RouterInstance
const finalhandler = fromSandbox('finalhandler') as (req: IncomingMessage, res: ServerResponse) => Next
const loadMiddleware = fromSandbox('./http/middleware') as (app: RouterInstance, params: Record<string, unknown>) => void
const httpConfig = fromSandbox('./http/_config') as (params: { cwd: string; inventory: Inventory }) => { apiType: string; staticPath?: string }
const updater = fromSandbox('@architect/utils').updater as (name: string, options: { quiet: boolean }) => unknown
const requestFormatter = fromSandbox('./http/invoke-http/http/_req-fmt') as (args: { method: string; path: string; req: IncomingMessage; catchallTrailingSlash?: boolean }) => unknown
const responseValidator = fromSandbox('./http/invoke-http/http/_res-validate') as (args: { res: ServerResponse; result: unknown }) => { body?: string; valid: boolean }
const responseFormatter = fromSandbox('./http/invoke-http/http/_res-fmt') as (args: { res: ServerResponse; result: unknown }) => string
const lambdaEnvironment = fromSandbox('./invoke-lambda/env') as (params: Record<string, unknown>, requestId: string) => Record<string, string | undefined>

export interface WarmApi {
  /** `http://127.0.0.1:<port>`: send requests here as to sandbox's own server. */
  url: string
  port: number
  stop(): Promise<void>
}

/** What a running sandbox app gives the warm API: where it is, and the environment sandbox.start was given. */
export interface WarmApiSource {
  cwd: string
  ports: PortSet
  /** The `env` option the sandbox was started with (the Lambdas' user environment). */
  lambdaUserEnv: Record<string, string>
  /**
   * At most this many environments per route (1 unless given): more requests
   * at once than that wait for one. Each environment's start (a process
   * loading the bundle) costs about as much CPU as a sandbox invocation, tests
   * run on two cores, and a request takes milliseconds in a warm one.
   */
  maxEnvironments?: number
}

/** A route's warm environments: an idle one serves the next invocation, a new one starts when all are busy. */
class EnvironmentPool {
  readonly #idle: WarmFunction[] = []
  readonly #waiting: Array<(environment: WarmFunction) => void> = []
  readonly all: WarmFunction[] = []
  readonly #make: () => WarmFunction
  readonly #max: number

  constructor(make: () => WarmFunction, max: number) {
    this.#make = make
    this.#max = max
  }

  async invoke(event: unknown): Promise<unknown> {
    const environment = await this.#take()
    try {
      return await environment.invoke(event)
    } finally {
      const next = this.#waiting.shift()
      if (next) next(environment)
      else this.#idle.push(environment)
    }
  }

  #take(): Promise<WarmFunction> {
    const idle = this.#idle.pop()
    if (idle) return Promise.resolve(idle)
    if (this.all.length < this.#max) {
      const environment = this.#make()
      this.all.push(environment)
      return Promise.resolve(environment)
    }
    return new Promise((resolve) => this.#waiting.push(resolve))
  }
}

export async function startWarmApi(source: WarmApiSource): Promise<WarmApi> {
  const project = await inventory({ cwd: source.cwd })
  const { ports } = source
  // As sandbox describes its services to a Lambda (ARC_SANDBOX), and the dummy credentials it gives without a profile.
  const sandboxPorts = { http: ports.PORT, events: ports.ARC_EVENTS_PORT, tables: ports.ARC_TABLES_PORT, _arc: ports.ARC_INTERNAL_PORT }
  const creds = { accessKeyId: process.env.AWS_ACCESS_KEY_ID ?? 'arcDummyAccessKey', secretAccessKey: process.env.AWS_SECRET_ACCESS_KEY ?? 'arcDummySecretKey' }
  // The HTTP functions' output is theirs: it reaches this terminal, and no listener of the queue's events.
  const events = new LocalQueueEvents()
  const pools = new Map<string, EnvironmentPool>()
  const { apiType, staticPath } = httpConfig({ cwd: source.cwd, inventory: project })
  if (apiType !== 'http') throw new Error(`The warm API speaks the HTTP API's payload 2.0 only, not ${apiType}`)

  const poolOf = (lambda: Lambda & { method: string; path: string }): EnvironmentPool => {
    const key = `${lambda.method} ${lambda.path}`
    let pool = pools.get(key)
    if (!pool) {
      const params = { apiType: 'http', creds, cwd: source.cwd, lambda, inventory: project, ports: sandboxPorts, staticPath, env: source.lambdaUserEnv }
      const env = lambdaEnvironment(params, 'warm')
      pool = new EnvironmentPool(
        () =>
          new WarmFunction({
            label: `@http ${key}`,
            handlerFile: lambda.handlerFile,
            handlerName: 'handler',
            cwd: lambda.build ?? lambda.src,
            timeoutSeconds: lambda.config.timeout,
            memoryMb: lambda.config.memory,
            env,
            // Sandbox prints everything its HTTP functions print, EMF lines too.
            printMetrics: true,
            events,
          }),
        source.maxEnvironments ?? 1,
      )
      pools.set(key, pool)
    }
    return pool
  }

  // Sandbox's middleware (binary bodies, /_static, the @proxy and ASAP fallthrough) and registration (src/http/register-http): the same paths, catch-alls and methods.
  const app = Router({ mergeParams: true })
  loadMiddleware(app, { apiType, staticPath, inventory: project, creds, cwd: source.cwd, ports: sandboxPorts, update: updater('Sandbox', { quiet: true }) })
  const routes = (project as Inventory & { inv: { http?: Array<Lambda & { method: string; path: string }> } }).inv.http ?? []
  for (const lambda of routes) {
    const register = (method: string, path: string, catchallTrailingSlash: boolean): void => {
      const handle = (req: IncomingMessage, res: ServerResponse): void => {
        const event = requestFormatter({ method: lambda.method.toUpperCase(), path: lambda.path, req, catchallTrailingSlash })
        poolOf(lambda)
          .invoke(event)
          .then(
            (result) => {
              const { body, valid } = responseValidator({ res, result })
              res.end(valid ? responseFormatter({ res, result }) : body)
            },
            // A handler that throws is a 500 at API Gateway; the app's handlers never should.
            (error: Error) => {
              res.statusCode = 500
              res.setHeader('content-type', 'application/json')
              res.end(JSON.stringify({ message: 'Internal Server Error', warmApiError: error.message }))
            },
          )
      }
      ;(app[method] as (path: string, handler: typeof handle) => void)(path, handle)
    }
    const path = lambda.path.endsWith('/*') ? `${lambda.path}_arc_catchall` : lambda.path
    const methods = lambda.method === 'any' ? ['get', 'post', 'put', 'patch', 'head', 'delete', 'options'] : [lambda.method]
    for (const method of methods) {
      register(method, path, false)
      if (path.endsWith('/*_arc_catchall')) register(method, path.replace('*_arc_catchall', ''), true)
    }
  }

  const server: Server = createServer((req, res) => app(req, res, finalhandler(req, res)))
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as AddressInfo).port
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    async stop() {
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
      await Promise.all([...pools.values()].flatMap((pool) => pool.all.map((environment) => environment.stop())))
    },
  }
}
