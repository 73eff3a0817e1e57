import { DynamoDBClient } from '@aws-sdk/client-dynamodb'
import { LambdaClient } from '@aws-sdk/client-lambda'
import { SQSClient } from '@aws-sdk/client-sqs'
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb'
import { consumerSwitch, documentBreakerTable, mappingSwitch, operatorName } from '../../../lib/adapters/operator-consumer.ts'
import { readLevelingSettings } from '../../../lib/config.ts'
import { mappingVariable } from 'arc-plugin-sqs-queues/local-lambda-api'
import { dlqName, localQueueAddress, queueArn, queueUrl, type LocalQueueAddress } from 'arc-plugin-sqs-queues/local-queues'
import type { QueueSettings } from 'arc-plugin-sqs-queues/settings'
import { LOCAL_AUDIENCE, localIssuerDir, localIssuerPort, localIssuerUrl, mintToken } from '../local-issuer.ts'
import type { BurstOptions } from './burst.ts'
import { dashboardPort, startDashboard, type Dashboard } from './server.ts'
import { localClientConfig } from '../../../lib/adapters/local-client.ts'

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
 * The consumer's pause and breakers as `npm run consumer` reaches them
 * locally: the sandbox's breakers table (ARC_TABLES_PORT, named as sandbox
 * names tables) and the queue's mapping through the local Lambda API, whose
 * UUID the sqs-queues plugin gives every function.
 */
function localConsumer(env: NodeJS.ProcessEnv, address: LocalQueueAddress, queue: string) {
  const uuid = env[mappingVariable(queue)]
  if (!uuid || !env.ARC_APP_NAME) throw new Error(`The dashboard needs ${mappingVariable(queue)} and ARC_APP_NAME (the sqs-queues plugin and sandbox set them)`)
  const tables = new DynamoDBClient(localClientConfig(`http://127.0.0.1:${env.ARC_TABLES_PORT || 5555}`, address.region))
  const lambda = new LambdaClient(localClientConfig(address.endpoint, address.region))
  const table = documentBreakerTable(DynamoDBDocumentClient.from(tables, { marshallOptions: { removeUndefinedValues: true } }), `${env.ARC_APP_NAME}-staging-breakers`)
  return {
    ...consumerSwitch(table, mappingSwitch(lambda, uuid), readLevelingSettings(env).breaker),
    operator: `${operatorName()} (dashboard)`,
    destroy() {
      tables.destroy()
      lambda.destroy()
    },
  }
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
  const consumer = localConsumer(env, address, queue.name)
  const sqs = new SQSClient(localClientConfig(address.endpoint, address.region))
  try {
    const dashboard = await startDashboard({
      port: dashboardPort(env),
      queue,
      queues: { sqs, queue: ref(queue.name), dlq: ref(dlqName(queue.name)) },
      burst: { apiUrl: `http://127.0.0.1:${apiPort(env)}`, token: burstToken(env, options.projectDir) },
      consumer,
    })
    return {
      url: dashboard.url,
      async close() {
        await dashboard.close()
        sqs.destroy()
        consumer.destroy()
      },
    }
  } catch (error) {
    sqs.destroy()
    consumer.destroy()
    throw error
  }
}
