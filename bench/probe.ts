import { request } from 'node:http'
import { createRequire } from 'node:module'

/**
 * Run by bench/profile.ts as a child process with a Lambda's environment, to see
 * where one sandbox invocation of a handler spends its time. Prints one JSON line.
 *
 *   node bench/probe.ts require <bundle>       require time of a bundle
 *   node bench/probe.ts discovery              @architect/functions' service discovery (arc.services, arc.tables)
 *   node bench/probe.ts ssm <n>                the discovery's round trip alone: n raw SSM GetParametersByPath to the sandbox
 *   node bench/probe.ts handler <bundle> <n>   require, then n calls of a POST /tasks handler: the first is cold
 */
const require = createRequire(import.meta.url)
const [mode = '', bundle = '', calls = '3'] = process.argv.slice(2)
const bootMs = performance.nodeTiming.bootstrapComplete

async function timed<T>(work: () => T | Promise<T>): Promise<{ ms: number; value: T }> {
  const started = performance.now()
  const value = await work()
  return { ms: performance.now() - started, value }
}

function postTasksEvent(index: number): unknown {
  const body = JSON.stringify({ title: `Probe task ${index}` })
  const requestId = `probe-${process.pid}-${index}`
  return {
    version: '2.0',
    routeKey: 'POST /tasks',
    rawPath: '/tasks',
    rawQueryString: '',
    // The bench passes a token of its app's issuer: the handler checks it as it checks any request's.
    headers: { 'content-type': 'application/json', 'content-length': String(body.length), authorization: process.env.PROBE_AUTHORIZATION ?? '' },
    requestContext: { http: { method: 'POST', path: '/tasks', protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent: 'bench' }, requestId, routeKey: 'POST /tasks', stage: '$default' },
    body,
    isBase64Encoded: false,
  }
}

function lambdaContext(index: number): unknown {
  return {
    awsRequestId: `probe-${process.pid}-${index}`,
    functionName: 'probe',
    functionVersion: '$LATEST',
    memoryLimitInMB: '1152',
    getRemainingTimeInMillis: () => 10_000,
  }
}

/** One GetParametersByPath to the sandbox's SSM emulation, as @aws-lite/ssm sends it (the sandbox checks no signature). */
function ssmRoundTrip(port: number, path: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const body = JSON.stringify({ Path: path, Recursive: true })
    const call = request(
      { host: 'localhost', port, path: '/_arc/ssm', method: 'POST', agent: false, headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': 'AmazonSSM.GetParametersByPath', 'content-length': Buffer.byteLength(body) } },
      (response) => {
        response.resume()
        response.on('end', () => (response.statusCode === 200 ? resolve() : reject(new Error(`SSM answered ${response.statusCode}`))))
      },
    )
    call.on('error', reject)
    call.end(body)
  })
}

let result: Record<string, unknown>
if (mode === 'require') {
  const loaded = await timed(() => require(bundle))
  // What the bundle pulled in from node_modules at load time (externals esbuild left out of it).
  const external = Object.keys(require.cache).filter((file) => file.includes('/node_modules/'))
  const packages = [...new Set(external.map((file) => file.split('/node_modules/').at(-1)?.split('/').slice(0, 2).join('/').replace(/^([^@][^/]*)\/.*$/, '$1') ?? file))]
  result = { bootMs, requireMs: loaded.ms, externalFiles: external.length, externalPackages: packages }
} else if (mode === 'discovery') {
  const loaded = await timed(() => require('@architect/functions') as { services(): Promise<unknown>; tables(): Promise<unknown> })
  const services = await timed(() => loaded.value.services())
  const tables = await timed(() => loaded.value.tables())
  result = { bootMs, requireMs: loaded.ms, servicesMs: services.ms, tablesMs: tables.ms }
} else if (mode === 'ssm') {
  const { ports } = JSON.parse(process.env.ARC_SANDBOX ?? '{}') as { ports: { _arc: number } }
  const stack = `/${(process.env.ARC_APP_NAME ?? '').replace(/(^|-)(\w)/g, (_, _dash: string, letter: string) => letter.toUpperCase())}Testing`
  const roundTrips: number[] = []
  for (let index = 0; index < Number(bundle || 5); index++) roundTrips.push((await timed(() => ssmRoundTrip(ports._arc, stack))).ms)
  result = { bootMs, roundTripsMs: roundTrips }
} else if (mode === 'handler') {
  const loaded = await timed(() => require(bundle) as { handler(event: unknown, context: unknown): Promise<{ statusCode: number; body?: string }> })
  const callsMs: number[] = []
  const taskIds: string[] = []
  for (let index = 0; index < Number(calls); index++) {
    const call = await timed(() => loaded.value.handler(postTasksEvent(index), lambdaContext(index)))
    if (call.value.statusCode !== 201) throw new Error(`handler answered ${call.value.statusCode}: ${call.value.body}`)
    callsMs.push(call.ms)
    taskIds.push((JSON.parse(call.value.body ?? '{}') as { id: string }).id)
  }
  result = { bootMs, requireMs: loaded.ms, callsMs, taskIds }
} else {
  throw new Error(`unknown probe mode ${mode}`)
}
process.stdout.write(`${JSON.stringify(result)}\n`)
// Open sockets of SDK clients must not keep the probe alive.
process.exit(0)
