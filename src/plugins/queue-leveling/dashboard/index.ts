import { SQSClient } from '@aws-sdk/client-sqs'
import { dlqName, localQueueAddress, queueArn, queueUrl } from '../../sqs-queues/local-queues.ts'
import type { QueueSettings } from '../../sqs-queues/settings.ts'
import { LOCAL_AUDIENCE, localIssuerDir, localIssuerPort, localIssuerUrl, mintToken } from '../local-issuer.ts'
import type { BurstOptions } from './burst.ts'
import { dashboardPort, startDashboard, type Dashboard } from './server.ts'

export { dashboardPort, type Dashboard } from './server.ts'

/** The sandbox's HTTP port, as sandbox tells its Lambdas (ARC_SANDBOX), else PORT, else its default. */
function apiPort(env: NodeJS.ProcessEnv): number {
  try {
    const port = (JSON.parse(env.ARC_SANDBOX ?? '{}') as { ports?: { http?: number } }).ports?.http
    if (port) return port
  } catch {
    // Not sandbox's JSON: fall back below.
  }
  return Number(env.PORT || 3333)
}

/** Tokens of the local issuer when the app trusts it; otherwise the reason the burst control cannot send anything. */
function burstToken(env: NodeJS.ProcessEnv, projectDir: string): BurstOptions['token'] {
  const issuer = localIssuerUrl(localIssuerPort(env))
  if (env.AUTH_ISSUER !== issuer) {
    return {
      unavailable:
        `The app trusts the issuer ${env.AUTH_ISSUER ?? '(none)'}, not the local one: the dashboard has no tokens of it, ` +
        'so it cannot send a burst. Send creates with a token of that issuer instead.',
    }
  }
  const audience = env.AUTH_AUDIENCE?.split(',')[0]?.trim() || LOCAL_AUDIENCE
  // Creates need the write scope only (its name is a setting; empty means none is needed).
  const scope = env.AUTH_SCOPE_WRITE || 'tasks:write'
  return { mint: () => mintToken({ dir: localIssuerDir(projectDir), issuer, audience, sub: 'dashboard', scope, ttlSeconds: 3600 }) }
}

/**
 * Starts the dashboard of the app's queue, while plugins start: process.env
 * then holds what the Lambdas get (sandbox removes it afterwards), so every
 * setting is read now.
 */
export async function startLocalDashboard(options: { queues: QueueSettings[]; projectDir: string; env?: NodeJS.ProcessEnv }): Promise<Dashboard | undefined> {
  const env = options.env ?? process.env
  const queue = options.queues[0]
  if (!queue) return undefined
  // The address the sqs-queues plugin serves the queues on, with the same region in their ARNs.
  const address = localQueueAddress(env)
  const ref = (name: string) => ({ name, url: queueUrl(address, name), arn: queueArn(address, name) })
  const sqs = new SQSClient({ endpoint: address.endpoint, region: address.region, credentials: { accessKeyId: 'local', secretAccessKey: 'local' }, maxAttempts: 1 })
  try {
    const dashboard = await startDashboard({
      port: dashboardPort(env),
      queue,
      queues: { sqs, queue: ref(queue.name), dlq: ref(dlqName(queue.name)) },
      burst: { apiUrl: `http://127.0.0.1:${apiPort(env)}`, token: burstToken(env, options.projectDir) },
    })
    return {
      url: dashboard.url,
      async close() {
        await dashboard.close()
        sqs.destroy()
      },
    }
  } catch (error) {
    sqs.destroy()
    throw error
  }
}
