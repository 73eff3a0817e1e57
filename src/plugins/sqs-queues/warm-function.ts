import { spawn, type ChildProcess } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { stat } from 'node:fs/promises'
import { join } from 'node:path'

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

const RUNTIME = join(import.meta.dirname, 'warm-function-runtime.ts')

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
    child.stdout?.on('data', (chunk: Buffer) => process.stdout.write(chunk))
    child.stderr?.on('data', (chunk: Buffer) => process.stderr.write(chunk))
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
