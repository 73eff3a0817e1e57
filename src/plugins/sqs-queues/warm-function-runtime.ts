import { createRequire } from 'node:module'
import type { Context } from 'aws-lambda'
import type { InvokeMessage, OutcomeMessage, SerializedError } from './warm-function.ts'

/**
 * The process of one warm execution environment (warm-function.ts): loads the
 * handler once, then runs each invocation the host sends, one at a time, with
 * a Lambda context whose remaining time counts down to the invocation's deadline.
 *
 *   node warm-function-runtime.ts <handler file> <handler export>
 */
type Handler = (event: unknown, context: Context, callback: (error?: unknown, result?: unknown) => void) => unknown

const [handlerFile = '', handlerName = 'handler'] = process.argv.slice(2)
const functionName = process.env.AWS_LAMBDA_FUNCTION_NAME ?? 'local'
const memoryLimitInMB = process.env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE ?? '128'

function serialize(error: unknown): SerializedError {
  if (error instanceof Error) return { name: error.name, message: error.message, ...(error.stack !== undefined && { stack: error.stack }) }
  return { name: 'Error', message: String(error) }
}

function send(message: OutcomeMessage): Promise<void> {
  return new Promise((resolve) => process.send?.(message, undefined, {}, () => resolve()) ?? resolve())
}

let handler: Handler | undefined
let initError: SerializedError | undefined
try {
  const exported = (createRequire(handlerFile)(handlerFile) as Record<string, unknown>)[handlerName]
  if (typeof exported !== 'function') throw new TypeError(`${handlerFile} exports no function named ${handlerName}`)
  handler = exported as Handler
} catch (error) {
  initError = serialize(error)
}

function contextOf(message: InvokeMessage): Context {
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: 'sandbox',
    memoryLimitInMB,
    awsRequestId: message.requestId,
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: 'local',
    getRemainingTimeInMillis: () => Math.max(0, message.deadline - Date.now()),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  }
}

/** Runs an async handler, or a callback-style one, to its one outcome. */
function run(message: InvokeMessage): Promise<unknown> {
  const loaded = handler
  if (!loaded) return Promise.reject(new Error('no handler'))
  return new Promise((resolve, reject) => {
    const callback = (error?: unknown, result?: unknown): void => (error ? reject(error) : resolve(result))
    try {
      const returned = loaded(message.event, contextOf(message), callback)
      if (returned instanceof Promise) returned.then(resolve, reject)
    } catch (error) {
      reject(error)
    }
  })
}

process.on('message', async (message: InvokeMessage) => {
  if (message.type !== 'invoke') return
  if (initError) {
    // Lambda discards an environment whose handler failed to load.
    await send({ type: 'error', requestId: message.requestId, error: initError, init: true })
    process.exit(1)
  }
  try {
    const result = await run(message)
    await send({ type: 'result', requestId: message.requestId, result: result ?? null })
  } catch (error) {
    await send({ type: 'error', requestId: message.requestId, error: serialize(error), init: false })
  }
})

// The host is gone (sandbox stopped): nothing else will come.
process.on('disconnect', () => process.exit(0))
