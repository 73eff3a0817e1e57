import { pathToFileURL } from 'node:url'
import type { Context } from 'aws-lambda'
import type { InvokeMessage, OutcomeMessage, SerializedError } from './warm-function.ts'

/**
 * The process of one warm execution environment (warm-function.ts): loads the
 * handler once, then runs each invocation the host sends, one at a time, with
 * a Lambda context whose remaining time counts down to the invocation's deadline.
 *
 *   node warm-function-runtime.js <handler file> <handler export>
 *
 * It runs as JavaScript built from this file (dist/): Node strips no types
 * under node_modules, where an app has this package installed.
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

/**
 * The handler, loaded as Node loads any module: import() takes an ES module
 * (`index.mjs`, or `index.js` under `"type": "module"`, top-level await
 * included) and a CommonJS one alike; a CommonJS module's exports are its
 * default export.
 */
async function loadHandler(): Promise<Handler> {
  const loaded = (await import(pathToFileURL(handlerFile).href)) as Record<string, unknown> & { default?: Record<string, unknown> }
  const exported = loaded[handlerName] ?? loaded.default?.[handlerName]
  if (typeof exported !== 'function') throw new TypeError(`${handlerFile} exports no function named ${handlerName}`)
  return exported as Handler
}

/** Started at once, awaited by each invocation: the host's first message may come while an ES module still loads. */
const loading: Promise<{ handler: Handler } | { initError: SerializedError }> = loadHandler().then(
  (handler) => ({ handler }),
  (error: unknown) => ({ initError: serialize(error) }),
)

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
function run(loaded: Handler, message: InvokeMessage): Promise<unknown> {
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
  const loaded = await loading
  if ('initError' in loaded) {
    // Lambda discards an environment whose handler failed to load.
    await send({ type: 'error', requestId: message.requestId, error: loaded.initError, init: true })
    process.exit(1)
  }
  try {
    const result = await run(loaded.handler, message)
    await send({ type: 'result', requestId: message.requestId, result: result ?? null })
  } catch (error) {
    await send({ type: 'error', requestId: message.requestId, error: serialize(error), init: false })
  }
})

// The host is gone (sandbox stopped): nothing else will come.
process.on('disconnect', () => process.exit(0))
