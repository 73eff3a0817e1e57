import { rm } from 'node:fs/promises'
import { SQSClient } from '@aws-sdk/client-sqs'
import { localIssuerDir, localIssuerUrl, mintToken, type MintOptions } from '../../../src/plugins/queue-leveling/local-issuer.ts'
import { prepareAppCopy, type AppCopyOptions } from '../app-copy.ts'
import { startSandbox, stopSandbox } from '../../sandbox.ts'
import { prebuiltHandlers, usePrebuiltHandlers } from './handler-build.ts'
import { freePorts, type PortSet } from './ports.ts'
import { startWarmApi, type WarmApi } from './warm-api.ts'

/**
 * Starts the real app in the Architect sandbox, in this process, from a copy of
 * the project (.tmp/test-apps/<name>-<pid>, removed on stop or a failed start) whose @queues keys, consumer timeout and settings the caller
 * picks, on ports of its own (free ones unless given), so a developer's `npm
 * start` and other runs keep running beside it. The handlers are the shared
 * prebuilt bundles (handler-build.ts). Requests go to the warm API (baseUrl)
 * unless a test means sandbox's own server (sandboxUrl).
 */

/** The caller every test acts as unless it says otherwise. */
export const TEST_CALLER = 'test-user'

/** Mints a token of the local issuer an app trusts (its key pair under the app copy's .tmp/). */
export type Mint = (options?: Partial<Omit<MintOptions, 'dir'>>) => Promise<string>

export interface SandboxAppOptions extends AppCopyOptions {
  /** Runtime settings (NOTIFY_*, CORS_ALLOW_ORIGIN...) for the Lambdas, as `npm start`'s environment gives them. */
  env?: Record<string, string>
  /** Lambda environment over everything else, e.g. AWS_ENDPOINT_URL_SQS of a proxy. */
  lambdaEnv?: Record<string, string>
  /** Sandbox's own output (a Lambda cut off at its timeout...); off by default. */
  quiet?: boolean
  /** The app's ports; free ones by default. */
  ports?: PortSet
  /** Warm environments per route of the warm API (baseUrl): as many as requests to one route in flight at once; 1 by default. */
  warmEnvironments?: number
}

export interface SandboxApp {
  /** The app copy's folder. */
  cwd: string
  ports: PortSet
  /**
   * The API the tests talk to: the warm API (warm-api.ts), sandbox's own HTTP
   * pipeline with each route's Lambda kept warm, so a request costs
   * milliseconds, not a process start. Same tables, queues, issuer and answers
   * (test/api/http-contract.ts compares the two).
   */
  baseUrl: string
  /** Sandbox's own HTTP server (a process per request, as `npm start` serves): for the end-to-end path and where a fresh process matters. */
  sandboxUrl: string
  /** The local SQS endpoint, e.g. for a proxy in front of it. */
  sqsEndpoint: string
  sqs: SQSClient
  queueUrl: string
  dlqUrl: string
  /** A token of TEST_CALLER with both scopes, valid for an hour. */
  token: string
  mint: Mint
  /** The warm API behind baseUrl (its port, its environments per route). */
  warmApi: WarmApi
  stop(): Promise<void>
}

/** The local SQS endpoint of an app on `ports`, and its queues' URLs. */
export const sqsEndpointOf = (ports: PortSet): string => `http://127.0.0.1:${ports.ARC_SQS_PORT}`
export const queueUrlOf = (ports: PortSet, queue: string): string => `${sqsEndpointOf(ports)}/000000000000/${queue}`

/**
 * The local queue runs in the test's own process, beside dynalite and the
 * sandbox, on a machine that runs several test files at once: a publish can
 * take longer there than SQS_TIMEOUT_MS's 500 ms default allows, and a create
 * whose publish times out waits in the outbox for the relay's next minute. The
 * tests give publishes 1.5 s, no more: the relay keeps 4 x SQS_TIMEOUT_MS + 2 s
 * of its 10 s in reserve and publishes nothing when that does not fit. A test
 * of the outbox takes the queue away (a refused connection fails at once).
 */
const SLOW_MACHINE_ENV = { SQS_TIMEOUT_MS: '1500' }

/**
 * Node's module compile cache, when the run has one (test/run.ts): each sandbox invocation is a process that compiles
 * its handler's bundle again, and sandbox gives its Lambdas only the environment it is told.
 */
const compileCacheEnv = (): Record<string, string> => (process.env.NODE_COMPILE_CACHE ? { NODE_COMPILE_CACHE: process.env.NODE_COMPILE_CACHE } : {})

export async function startSandboxApp(options: SandboxAppOptions): Promise<SandboxApp> {
  const ports = options.ports ?? (await freePorts())
  // One copy per process and name: two runs of one file (two people, two suites) never share a folder.
  const cwd = await prepareAppCopy({ ...options, name: `test-apps/${options.name}-${process.pid}` })
  await prebuiltHandlers()
  await usePrebuiltHandlers(cwd)
  // The plugins read their ports and the settings from the environment, as under `npm start`; put back what was there on stop.
  const given: Record<string, string> = { ...Object.fromEntries(Object.entries(ports).map(([name, port]) => [name, String(port)])), ...options.env }
  const before = Object.fromEntries(Object.keys(given).map((name) => [name, process.env[name]]))
  Object.assign(process.env, given)
  process.env.POWERTOOLS_LOG_LEVEL ||= 'WARN'
  /** The end of every start, refused or stopped: the environment put back, the app copy removed. */
  const release = async (): Promise<void> => {
    for (const [name, value] of Object.entries(before)) {
      if (value === undefined) delete process.env[name]
      else process.env[name] = value
    }
    await rm(cwd, { recursive: true, force: true })
  }
  let lambdaUserEnv: Record<string, string>
  try {
    lambdaUserEnv = await startSandbox({ cwd, port: ports.PORT, quiet: options.quiet ?? true, lambdaEnv: { ...SLOW_MACHINE_ENV, ...compileCacheEnv(), ...options.lambdaEnv } })
  } catch (error) {
    // A start that fails (settings it refuses, say) leaves no app to stop.
    await release()
    throw error
  }
  const endpoint = sqsEndpointOf(ports)
  const sqs = new SQSClient({ endpoint, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } })
  let warmApi: WarmApi
  try {
    warmApi = await startWarmApi({ cwd, ports, lambdaUserEnv, maxEnvironments: options.warmEnvironments })
  } catch (error) {
    await stopSandbox().finally(release)
    throw error
  }
  const mint: Mint = (mintOptions = {}) => mintToken({ dir: localIssuerDir(cwd), issuer: localIssuerUrl(ports.LOCAL_ISSUER_PORT), sub: TEST_CALLER, ...mintOptions })
  return {
    cwd,
    ports,
    baseUrl: warmApi.url,
    sandboxUrl: `http://localhost:${ports.PORT}`,
    sqsEndpoint: endpoint,
    sqs,
    queueUrl: queueUrlOf(ports, 'notifications'),
    dlqUrl: queueUrlOf(ports, 'notifications-dlq'),
    token: await mint(),
    mint,
    warmApi,
    async stop() {
      sqs.destroy()
      await warmApi.stop()
      try {
        await stopSandbox()
      } finally {
        await release()
      }
    },
  }
}
