import { freePort, freePorts, startSandboxApp, type SandboxApp, type SandboxAppOptions } from '../../scripts/lib/harness/index.ts'
import { TcpProxy } from './tcp-proxy.ts'

/**
 * The app with its producer publishing through a TcpProxy in front of its
 * local SQS (a test cuts the queue off by taking the proxy down, or slows it
 * down) and the outbox relay running every `relaySeconds` (LOCAL_SCHEDULE_SECONDS;
 * the app's own minute when not given).
 */
export async function startAppBehindProxy(name: string, webhookUrl: string, options: Partial<SandboxAppOptions> & { relaySeconds?: number } = {}): Promise<{ app: SandboxApp; proxy: TcpProxy }> {
  const ports = await freePorts()
  const proxy = new TcpProxy(await freePort(), { host: '127.0.0.1', port: ports.ARC_SQS_PORT })
  await proxy.up()
  const { relaySeconds, ...appOptions } = options
  const app = await startSandboxApp({
    ...appOptions,
    name,
    ports,
    // A publish cut off by the outage may have reached the queue after all and be sent again: the copy held back while
    // the first delivers comes back after RETRY_BASE_SECONDS, 1 s here, so the queue is soon empty again.
    env: { NOTIFY_WEBHOOK_URL: webhookUrl, RETRY_BASE_SECONDS: '1', ...(relaySeconds !== undefined && { LOCAL_SCHEDULE_SECONDS: String(relaySeconds) }), ...options.env },
    lambdaEnv: { AWS_ENDPOINT_URL_SQS: proxy.url, NOTIFICATIONS_QUEUE_URL: `${proxy.url}/000000000000/notifications`, ...options.lambdaEnv },
  })
  return { app, proxy }
}
