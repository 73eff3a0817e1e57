import { SQSClient } from '@aws-sdk/client-sqs'
import { prepareAppCopy, type AppCopyOptions } from '../../scripts/lib/app-copy.ts'
import { startSandbox, stopSandbox } from '../../scripts/sandbox.ts'
import { localIssuerDir, localIssuerUrl, mintToken, type MintOptions } from '../../src/plugins/queue-leveling/local-issuer.ts'
import type { TcpProxy } from './tcp-proxy.ts'

/**
 * Starts the real app in the Architect sandbox for a test file, from a copy of
 * the project whose @queues keys, consumer timeout and settings the test picks.
 * Ports stay off the defaults so a developer's `npm start` keeps running.
 */
// The copies live in scripts/lib/app-copy.ts, shared with the bench.
export { prepareAppCopy, ROOT, withQueueKeys, type QueueOverrides } from '../../scripts/lib/app-copy.ts'

// TEST_PORT_OFFSET moves them all, so two suites can run side by side.
const offset = Number(process.env.TEST_PORT_OFFSET || 0)
export const TEST_PORTS = {
  PORT: 3433 + offset,
  ARC_SQS_PORT: 9424 + offset,
  ARC_TABLES_PORT: 5655 + offset,
  ARC_EVENTS_PORT: 4544 + offset,
  ARC_INTERNAL_PORT: 2322 + offset,
  LOCAL_ISSUER_PORT: 3435 + offset,
  DASHBOARD_PORT: 3434 + offset,
} as const

/** The caller every test acts as unless it says otherwise. */
export const TEST_CALLER = 'test-user'

/** Mints a token of the local issuer a test app trusts (its key pair under the app copy's .tmp/). */
export type Mint = (options?: Partial<Omit<MintOptions, 'dir'>>) => Promise<string>

export interface TestAppOptions extends AppCopyOptions {
  /** Runtime settings (NOTIFY_*, CORS_ALLOW_ORIGIN...) for the Lambdas. */
  env?: Record<string, string>
  /** Lambda environment over everything else, e.g. AWS_ENDPOINT_URL_SQS of a proxy. */
  lambdaEnv?: Record<string, string>
  /** Sandbox's own output (a Lambda cut off at its timeout...); off for tests. */
  quiet?: boolean
}

export interface TestApp {
  baseUrl: string
  /** The local SQS endpoint, e.g. for a proxy in front of it. */
  sqsEndpoint: string
  sqs: SQSClient
  queueUrl: string
  dlqUrl: string
  /** A token of TEST_CALLER with both scopes, valid for an hour. */
  token: string
  mint: Mint
  stop(): Promise<void>
}

export async function startTestApp(options: TestAppOptions): Promise<TestApp> {
  const cwd = await prepareAppCopy(options)
  for (const [name, value] of Object.entries(TEST_PORTS)) process.env[name] = String(value)
  for (const [name, value] of Object.entries(options.env ?? {})) process.env[name] = value
  process.env.POWERTOOLS_LOG_LEVEL ||= 'WARN'
  await startSandbox({ cwd, port: TEST_PORTS.PORT, quiet: options.quiet ?? true, lambdaEnv: options.lambdaEnv ?? {} })
  const endpoint = `http://127.0.0.1:${TEST_PORTS.ARC_SQS_PORT}`
  const sqs = new SQSClient({ endpoint, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } })
  const mint: Mint = (mintOptions = {}) =>
    mintToken({ dir: localIssuerDir(cwd), issuer: localIssuerUrl(TEST_PORTS.LOCAL_ISSUER_PORT), sub: TEST_CALLER, ...mintOptions })
  return {
    baseUrl: `http://localhost:${TEST_PORTS.PORT}`,
    sqsEndpoint: endpoint,
    sqs,
    queueUrl: `${endpoint}/000000000000/notifications`,
    dlqUrl: `${endpoint}/000000000000/notifications-dlq`,
    token: await mint(),
    mint,
    async stop() {
      sqs.destroy()
      await stopSandbox()
    },
  }
}

/**
 * The app with its producer publishing through `proxy` (a TcpProxy in front of
 * the local SQS) and the outbox relay running every 2 s: a test cuts the queue
 * off by taking the proxy down.
 */
export async function startAppBehindProxy(name: string, proxy: TcpProxy, webhookUrl: string): Promise<TestApp> {
  await proxy.up()
  process.env.LOCAL_SCHEDULE_SECONDS = '2'
  return startTestApp({
    name,
    env: { NOTIFY_WEBHOOK_URL: webhookUrl },
    lambdaEnv: { AWS_ENDPOINT_URL_SQS: proxy.url, NOTIFICATIONS_QUEUE_URL: `${proxy.url}/000000000000/notifications` },
  })
}
