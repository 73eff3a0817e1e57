import { spawn, type ChildProcess } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { stat } from 'node:fs/promises'
import { extname, join } from 'node:path'
import { createInterface } from 'node:readline'
import { parseEmf } from './emf.ts'
import { localQueueEvents, type LocalQueueEvents } from './local-events.ts'

/**
 * One Lambda execution environment for the queue's consumer, kept warm between
 * batches as Lambda keeps one: a Node process loads the handler once, then runs
 * one invocation at a time sent to it over IPC. Stock sandbox starts a new
 * process per invocation, which costs every batch a cold start (process, bundle,
 * SDK clients, table discovery) that Lambda pays once per environment.
 *
 * As in Lambda, an invocation that times out or crashes its process, or a
 * handler that fails to load, discards the environment: the next invocation
 * starts a new one. A rebuilt handler (the TypeScript plugin rebuilds on save)
 * also gets a new one, as a deploy would.
 */
export interface WarmFunctionOptions {
  /** How logs and errors name the function, e.g. `@queues notifications`. */
  label: string
  handlerFile: string
  handlerName: string
  cwd: string
  timeoutSeconds: number
  memoryMb: number
  env: Record<string, string | undefined>
  /**
   * Whether the function's CloudWatch EMF metric lines reach the terminal too
   * (LOCAL_EMF_LOG=true). By default they go to the event source only: nothing
   * turns them into metrics locally, and a dashboard shows them better.
   */
  printMetrics?: boolean
  /** Where every line the function prints goes besides the terminal; the process's own by default. */
  events?: LocalQueueEvents
}

/** The setting that puts EMF lines in the local output (LOCAL_EMF_LOG=true); unset or false keeps them out. */
export const EMF_LOG_SETTING = 'LOCAL_EMF_LOG'

export function readEmfLogSetting(env: NodeJS.ProcessEnv = process.env): boolean {
  const value = env[EMF_LOG_SETTING]
  if (value === undefined || value === '' || value === 'false') return false
  if (value === 'true') return true
  throw new Error(`${EMF_LOG_SETTING} must be true or false, got "${value}"`)
}

/** Host to runtime: run the handler once. */
export interface InvokeMessage {
  type: 'invoke'
  requestId: string
  event: unknown
  /** Epoch ms at which the invocation times out (context.getRemainingTimeInMillis). */
  deadline: number
}

export interface SerializedError {
  name: string
  message: string
  stack?: string
}

/** Runtime to host: how that invocation ended. */
export type OutcomeMessage =
  | { type: 'result'; requestId: string; result: unknown }
  | { type: 'error'; requestId: string; error: SerializedError; init: boolean }

/**
 * The runtime beside this module, as the same kind of file: the built
 * warm-function-runtime.js when this is the package's JavaScript (an installed
 * package cannot rely on Node stripping types under node_modules), the .ts
 * source when this module runs from its source.
 */
const RUNTIME = join(import.meta.dirname, `warm-function-runtime${extname(import.meta.filename)}`)

interface Pending {
  requestId: string
  child: ChildProcess
  resolve(result: unknown): void
  reject(error: Error): void
  timer: NodeJS.Timeout
}

function toError({ name, message, stack }: SerializedError): Error {
  const error = new Error(message)
  error.name = name
  if (stack) error.stack = stack
  return error
}

/** The slice of an inventory Lambda (any pragma) that a warm environment is made from. */
export interface InventoryLambda {
  src: string
  handlerFile: string
  handlerMethod: string
  /** `runtime` as inventory gives it (e.g. `nodejs24.x`, `python3.13`, a custom runtime's name); absent means Architect's default, Node.js. */
  config: { timeout: number; memory: number; runtime?: string; runtimeConfig?: { baseRuntime?: string } | null }
}

/** Whether sandbox runs the Lambda on Node.js (its own rule: a custom runtime, TypeScript say, runs as its base runtime). */
export const runsOnNode = (lambda: InventoryLambda): boolean => (lambda.config.runtimeConfig?.baseRuntime ?? lambda.config.runtime ?? 'nodejs').startsWith('node')

/** A warm environment for an inventory Lambda, with the environment variables it gets. */
export function warmFunctionOf(label: string, lambda: InventoryLambda, env: Record<string, string | undefined>, options: Pick<WarmFunctionOptions, 'printMetrics' | 'events'> = {}): WarmFunction {
  return new WarmFunction({
    label,
    handlerFile: lambda.handlerFile,
    handlerName: lambda.handlerMethod,
    cwd: lambda.src,
    timeoutSeconds: lambda.config.timeout,
    memoryMb: lambda.config.memory,
    env,
    ...options,
  })
}

export class WarmFunction {
  readonly #options: WarmFunctionOptions
  #child: ChildProcess | undefined
  #handlerBuiltAt = 0
  #pending: Pending | undefined
  #busy = false

  constructor(options: WarmFunctionOptions) {
    this.#options = options
  }

  async invoke(event: unknown): Promise<unknown> {
    if (this.#busy) throw new Error(`${this.#options.label}: an environment runs one invocation at a time`)
    this.#busy = true
    try {
      return await this.#run(event)
    } finally {
      this.#busy = false
    }
  }

  async #run(event: unknown): Promise<unknown> {
    const { mtimeMs } = await stat(this.#options.handlerFile)
    if (this.#child && mtimeMs !== this.#handlerBuiltAt) this.#discard()
    const child = this.#child ?? this.#start(mtimeMs)
    const { label, timeoutSeconds } = this.#options
    const requestId = randomUUID()
    const timeoutMs = timeoutSeconds * 1000
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#settle(requestId, () => reject(new Error(`${label} timed out after ${timeoutSeconds} s`)))
        this.#discard()
      }, timeoutMs)
      this.#pending = { requestId, child, resolve, reject, timer }
      const message: InvokeMessage = { type: 'invoke', requestId, event, deadline: Date.now() + timeoutMs }
      child.send(message)
    })
  }

  /** Ends the environment; an invocation under way is rejected. */
  async stop(): Promise<void> {
    const child = this.#child
    if (!child) return
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
    this.#discard()
    await exited
  }

  #start(handlerBuiltAt: number): ChildProcess {
    const { label, handlerFile, handlerName, cwd, memoryMb } = this.#options
    // Lambda's own variables over the ones given; the runtime's context reads them too.
    const env = { ...this.#options.env, AWS_LAMBDA_FUNCTION_NAME: label, AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(memoryMb), AWS_LAMBDA_FUNCTION_VERSION: '$LATEST', LAMBDA_TASK_ROOT: cwd, TZ: 'UTC' }
    const child = spawn(process.execPath, [RUNTIME, handlerFile, handlerName], { cwd, env, stdio: ['ignore', 'pipe', 'pipe', 'ipc'] })
    // Line by line, so each line is judged (EMF or not) and handed on whole.
    for (const [name, terminal] of [['stdout', process.stdout], ['stderr', process.stderr]] as const) {
      const stream = child[name]
      if (stream) createInterface({ input: stream, crlfDelay: Infinity }).on('line', (line) => this.#output(name, line, terminal))
    }
    child.on('message', (message: OutcomeMessage) => {
      if (message.type === 'result') {
        this.#settle(message.requestId, (pending) => pending.resolve(message.result))
        return
      }
      // A handler that failed to load leaves an environment Lambda would not reuse.
      if (message.init && this.#child === child) this.#discard()
      this.#settle(message.requestId, (pending) => pending.reject(toError(message.error)))
    })
    child.on('exit', (code, signal) => {
      if (this.#child === child) this.#child = undefined
      // A discarded process may exit while the next one already runs an invocation.
      const pending = this.#pending
      if (pending?.child === child) this.#settle(pending.requestId, () => pending.reject(new Error(`${this.#options.label} exited (${signal ?? `code ${code}`}) during an invocation`)))
    })
    this.#child = child
    this.#handlerBuiltAt = handlerBuiltAt
    return child
  }

  #output(stream: 'stdout' | 'stderr', line: string, terminal: NodeJS.WriteStream): void {
    const { label, printMetrics = false, events = localQueueEvents } = this.#options
    const listened = events.listened
    // A line is parsed only when that matters: someone listens, or EMF lines are held back.
    const emf = listened || !printMetrics ? parseEmf(line) : undefined
    if ((!emf || printMetrics) && !events.heldBack(line)) terminal.write(`${line}\n`)
    if (listened) events.emit({ type: 'output', function: label, stream, line, ...(emf && { emf }), at: Date.now() })
  }

  #settle(requestId: string, finish: (pending: Pending) => void): void {
    const pending = this.#pending
    if (!pending || pending.requestId !== requestId) return
    clearTimeout(pending.timer)
    this.#pending = undefined
    finish(pending)
  }

  #discard(): void {
    const child = this.#child
    this.#child = undefined
    child?.kill('SIGKILL')
  }
}
