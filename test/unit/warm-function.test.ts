import { mkdir, rm, utimes, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import test from 'tape'
import { LocalQueueEvents, type ConsumerOutput, type HeldBackLine } from 'arc-plugin-sqs-queues/local-events'
import { readEmfLogSetting, WarmFunction, type WarmFunctionOptions } from 'arc-plugin-sqs-queues/warm-function'
import { ROOT } from '../../scripts/lib/harness/index.ts'

const DIR = join(ROOT, '.tmp', 'warm-function-test')

// A CommonJS handler, as the TypeScript plugin builds them; its module state shows whether the process was reused.
const HANDLER = `
let count = 0
exports.handler = async (event, context) => {
  count++
  if (event.action === 'throw') throw new TypeError('boom')
  if (event.action === 'hang') return new Promise(() => {})
  if (event.action === 'exit') process.exit(3)
  return { version: 1, pid: process.pid, count, mark: process.env.MARK, requestId: context.awsRequestId, functionName: context.functionName, lambdaName: process.env.AWS_LAMBDA_FUNCTION_NAME, remainingMs: context.getRemainingTimeInMillis() }
}
exports.callbackHandler = (event, context, callback) => { setTimeout(() => callback(null, { echoed: event.value }), 10) }
`

interface Answer {
  version: number
  pid: number
  count: number
  mark?: string
  requestId: string
  functionName: string
  lambdaName?: string
  remainingMs: number
}

async function handlerFile(name: string, source: string): Promise<string> {
  await mkdir(DIR, { recursive: true })
  const file = join(DIR, `${name}.cjs`)
  await writeFile(file, source)
  return file
}

function environment(options: Partial<WarmFunctionOptions> & { handlerFile: string }): WarmFunction {
  return new WarmFunction({ label: '@queues test', handlerName: 'handler', cwd: DIR, timeoutSeconds: 5, memoryMb: 128, env: { PATH: process.env.PATH, MARK: 'from-env' }, ...options })
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

test('setup', async () => {
  await rm(DIR, { recursive: true, force: true })
})

test('invocations reuse one warm process, each with its own request id and a deadline', async (t) => {
  const warm = environment({ handlerFile: await handlerFile('reuse', HANDLER) })
  const first = (await warm.invoke({})) as Answer
  const second = (await warm.invoke({})) as Answer
  t.equal(second.pid, first.pid, 'same process')
  t.deepEqual([first.count, second.count], [1, 2], 'module state survives between invocations')
  t.notEqual(second.pid, process.pid, 'not the host process')
  t.equal(first.mark, 'from-env', 'the environment variables it was given')
  t.notEqual(first.requestId, second.requestId)
  t.equal(first.functionName, '@queues test', 'the context names the function')
  t.equal(first.lambdaName, '@queues test', "so do Lambda's own variables")
  t.ok(first.remainingMs > 4000 && first.remainingMs <= 5000, `remaining time counts down from the timeout (${first.remainingMs} ms)`)
  await warm.stop()
  t.notOk(isRunning(first.pid), 'stop ends the process')
})

test('a handler error fails the invocation and keeps the environment', async (t) => {
  const warm = environment({ handlerFile: await handlerFile('throws', HANDLER) })
  const before = (await warm.invoke({})) as Answer
  const error = await warm.invoke({ action: 'throw' }).catch((caught: unknown) => caught)
  t.ok(error instanceof Error, 'rejects with an Error')
  t.equal((error as Error).name, 'TypeError')
  t.equal((error as Error).message, 'boom')
  const after = (await warm.invoke({})) as Answer
  t.equal(after.pid, before.pid, 'same process')
  t.equal(after.count, 3)
  await warm.stop()
})

test('a timeout discards the environment; the next invocation starts a new one', async (t) => {
  const warm = environment({ handlerFile: await handlerFile('timeout', HANDLER), timeoutSeconds: 1 })
  const before = (await warm.invoke({})) as Answer
  const started = Date.now()
  const error = await warm.invoke({ action: 'hang' }).catch((caught: unknown) => caught)
  const tookMs = Date.now() - started
  t.match((error as Error).message, /@queues test timed out after 1 s/)
  t.ok(tookMs >= 1000 && tookMs < 3000, `rejected at the timeout (${tookMs} ms)`)
  const after = (await warm.invoke({})) as Answer
  t.notEqual(after.pid, before.pid, 'a new process')
  t.equal(after.count, 1, 'with fresh module state')
  t.notOk(isRunning(before.pid), 'the timed-out process is gone')
  await warm.stop()
})

test('a process that exits during an invocation fails it; the next invocation starts a new one', async (t) => {
  const warm = environment({ handlerFile: await handlerFile('exits', HANDLER) })
  const before = (await warm.invoke({})) as Answer
  const error = await warm.invoke({ action: 'exit' }).catch((caught: unknown) => caught)
  t.match((error as Error).message, /@queues test exited \(code 3\) during an invocation/)
  const after = (await warm.invoke({})) as Answer
  t.notEqual(after.pid, before.pid)
  t.equal(after.count, 1)
  await warm.stop()
})

test('a handler that fails to load fails every invocation with its error', async (t) => {
  const warm = environment({ handlerFile: await handlerFile('init-error', `throw new RangeError('cannot load')\n`) })
  for (const attempt of [1, 2]) {
    const error = await warm.invoke({}).catch((caught: unknown) => caught)
    t.equal((error as Error).name, 'RangeError', `attempt ${attempt}`)
    t.equal((error as Error).message, 'cannot load')
  }
  const missing = environment({ handlerFile: await handlerFile('no-export', 'exports.other = () => 1\n') })
  t.match(((await missing.invoke({}).catch((caught: unknown) => caught)) as Error).message, /exports no function named handler/)
  await warm.stop()
  await missing.stop()
})

test('a rebuilt handler gets a new environment, as a deploy would', async (t) => {
  const file = await handlerFile('rebuilt', HANDLER)
  const warm = environment({ handlerFile: file })
  const before = (await warm.invoke({})) as Answer
  await writeFile(file, HANDLER.replace('version: 1', 'version: 2'))
  const later = new Date(Date.now() + 2000)
  await utimes(file, later, later)
  const after = (await warm.invoke({})) as Answer
  t.equal(after.version, 2, 'the new code runs')
  t.notEqual(after.pid, before.pid)
  t.notOk(isRunning(before.pid), 'the old process is gone')
  await warm.stop()
})

test('one invocation at a time; callback-style handlers work too', async (t) => {
  const warm = environment({ handlerFile: await handlerFile('busy', HANDLER) })
  const running = warm.invoke({})
  const error = await warm.invoke({}).catch((caught: unknown) => caught)
  t.match((error as Error).message, /one invocation at a time/)
  t.equal(((await running) as Answer).count, 1, 'the first invocation is unaffected')
  await warm.stop()
  const callbackStyle = environment({ handlerFile: await handlerFile('callback', HANDLER), handlerName: 'callbackHandler' })
  t.deepEqual(await callbackStyle.invoke({ value: 'x' }), { echoed: 'x' })
  await callbackStyle.stop()
})

// What a consumer prints in one invocation: a plain line, a structured log line and an EMF metric line, in two writes that split a line.
const PRINTER = `
exports.handler = async () => {
  process.stdout.write('plain line\\n{"level":"INFO","message":"Delivered","chan')
  process.stdout.write('nel":"webhook"}\\n')
  console.log(JSON.stringify({ _aws: { Timestamp: 1700000000000, CloudWatchMetrics: [{ Namespace: 'Test', Dimensions: [['service', 'channel']], Metrics: [{ Name: 'Delivered', Unit: 'Count' }, { Name: 'DeliveryLatency', Unit: 'Milliseconds' }] }] }, service: 'svc', channel: 'webhook', Delivered: 2, DeliveryLatency: [120, 80] }))
  console.error('on stderr')
  return 'printed'
}
`

/** What the host wrote to the terminal and to the event source during one invocation. */
async function printed(printMetrics: boolean | undefined, heldBack?: HeldBackLine): Promise<{ terminal: string[]; events: ConsumerOutput[] }> {
  const events = new LocalQueueEvents()
  if (heldBack) events.holdBack(heldBack)
  const seen: ConsumerOutput[] = []
  events.subscribe((event) => {
    if (event.type === 'output') seen.push(event)
  })
  const warm = environment({ handlerFile: await handlerFile('printer', PRINTER), events, ...(printMetrics !== undefined && { printMetrics }) })
  const terminal: string[] = []
  const writes = { out: process.stdout.write, err: process.stderr.write }
  const capture = (chunk: string | Uint8Array): boolean => {
    terminal.push(String(chunk))
    return true
  }
  process.stdout.write = capture as typeof process.stdout.write
  process.stderr.write = capture as typeof process.stderr.write
  try {
    await warm.invoke({})
    // The pipes may deliver after the IPC answer.
    for (let waited = 0; seen.length < 4 && waited < 3000; waited += 20) await new Promise((resolve) => setTimeout(resolve, 20))
  } finally {
    process.stdout.write = writes.out
    process.stderr.write = writes.err
    await warm.stop()
  }
  return { terminal, events: seen }
}

test('every line the consumer prints goes to the event source whole; EMF lines reach the terminal only when asked for', async (t) => {
  const quiet = await printed(undefined)
  t.deepEqual(
    // stdout and stderr are two pipes: their order between them is not kept.
    quiet.events.map((event) => [event.stream, event.line.slice(0, 30), event.emf !== undefined]).sort(),
    [
      ['stdout', 'plain line', false],
      ['stdout', '{"level":"INFO","message":"Del', false],
      ['stdout', '{"_aws":{"Timestamp":170000000', true],
      ['stderr', 'on stderr', false],
    ].sort(),
    'four lines, a line split across writes joined, the EMF one recognised',
  )
  t.equal(quiet.events[0]?.function, '@queues test', 'named by the function')
  const emf = quiet.events.find((event) => event.emf)?.emf
  t.deepEqual(emf, {
    timestamp: 1700000000000,
    metrics: [
      { namespace: 'Test', name: 'Delivered', unit: 'Count', values: [2], dimensions: { service: 'svc', channel: 'webhook' } },
      { namespace: 'Test', name: 'DeliveryLatency', unit: 'Milliseconds', values: [120, 80], dimensions: { service: 'svc', channel: 'webhook' } },
    ],
  }, 'its metrics, values and dimensions')
  t.deepEqual(quiet.terminal.sort(), ['on stderr\n', 'plain line\n', '{"level":"INFO","message":"Delivered","channel":"webhook"}\n'], 'by default every line but the EMF one reaches the terminal')

  const loud = await printed(true)
  t.equal(loud.terminal.length, 4, 'with LOCAL_EMF_LOG=true the EMF line too')
  t.ok(loud.terminal.some((line) => line.startsWith('{"_aws"')))
  t.equal(loud.events.length, 4, 'and the event source still gets every line')
})

test('a line a listener shows elsewhere (holdBack) stays off the terminal and still reaches the event source', async (t) => {
  const held = await printed(undefined, (line) => line.startsWith('{"level":"INFO","message":"Delivered"'))
  t.deepEqual(held.terminal.sort(), ['on stderr\n', 'plain line\n'], 'the delivery line and the EMF line held back')
  t.ok(held.events.some((event) => event.line.startsWith('{"level":"INFO","message":"Delivered"')), 'the listeners still get the delivery line')
  t.equal(held.events.length, 4)
})

test('LOCAL_EMF_LOG is true or false; anything else is refused, not ignored', (t) => {
  t.equal(readEmfLogSetting({}), false)
  t.equal(readEmfLogSetting({ LOCAL_EMF_LOG: 'false' }), false)
  t.equal(readEmfLogSetting({ LOCAL_EMF_LOG: 'true' }), true)
  t.throws(() => readEmfLogSetting({ LOCAL_EMF_LOG: 'yes' }), /LOCAL_EMF_LOG must be true or false, got "yes"/)
  t.end()
})
