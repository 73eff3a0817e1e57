import type { Server } from 'node:http'
import type { LocalLambdaApi } from './local-lambda-api.ts'
import { startLocalSqsServer } from './local-sqs-server.ts'
import type { QueueKind, QueueSettings } from './settings.ts'

/** Where the local SQS server listens and what its queues are called. */
export interface LocalQueueAddress {
  endpoint: string
  region: string
  accountId: string
}

export const LOCAL_ACCOUNT_ID = '000000000000'
const DAY_SECONDS = 24 * 60 * 60

/** ARC_SQS_PORT (default 9324) on loopback; the region is AWS_REGION's, else the one given. */
export function localQueueAddress(env: NodeJS.ProcessEnv = process.env, region = 'us-east-1'): LocalQueueAddress {
  const port = Number(env.ARC_SQS_PORT || 9324)
  if (!Number.isInteger(port) || port < 1 || port > 65_535) throw new Error(`ARC_SQS_PORT must be a port number, got ${env.ARC_SQS_PORT}`)
  return { endpoint: `http://127.0.0.1:${port}`, region: env.AWS_REGION || region, accountId: LOCAL_ACCOUNT_ID }
}

/**
 * The local names of a queue and its DLQ, as SQS requires them: a FIFO queue's
 * name ends in `.fifo`, and so does its DLQ's, which must be FIFO too
 * (`jobs.fifo`, `jobs-dlq.fifo`; a standard `notifications` has `notifications-dlq`).
 */
export function localQueueNames(queue: QueueKind): { queue: string; dlq: string } {
  const suffix = queue.fifo ? '.fifo' : ''
  return { queue: `${queue.name}${suffix}`, dlq: `${queue.name}-dlq${suffix}` }
}
/** The DLQ's name of a standard queue (localQueueNames names both kinds). */
export const dlqName = (queue: string): string => localQueueNames({ name: queue }).dlq
export const queueUrl = (address: LocalQueueAddress, name: string): string => `${address.endpoint}/${address.accountId}/${name}`
export const queueArn = (address: LocalQueueAddress, name: string): string => `arn:aws:sqs:${address.region}:${address.accountId}:${name}`

/** `NOTIFICATIONS_QUEUE_URL` and `NOTIFICATIONS_DLQ_URL` for queue `notifications`. */
export function queueUrlVariables(name: string): { queue: string; dlq: string } {
  const prefix = name.toUpperCase().replace(/[^A-Z0-9]/g, '_')
  return { queue: `${prefix}_QUEUE_URL`, dlq: `${prefix}_DLQ_URL` }
}

export interface LocalQueuesOptions {
  /** How long FIFO queues remember a deduplication id: SQS's 300 s unless a test shortens it. */
  deduplicationIntervalSeconds?: number
}

/**
 * Starts the SQS-compatible server with each queue and its DLQ, as app.arc
 * declares them; it refuses what SQS refuses. A FIFO queue's DLQ is FIFO with
 * the same deduplication, as SQS requires. With `lambdaApi` it answers the
 * event source mapping API of Lambda too, on the same endpoint.
 */
export async function startLocalQueues(
  address: LocalQueueAddress,
  queues: QueueSettings[],
  lambdaApi?: LocalLambdaApi,
  options: LocalQueuesOptions = {},
): Promise<Server> {
  const { port } = new URL(address.endpoint)
  return startLocalSqsServer({
    port: Number(port),
    hostname: '127.0.0.1',
    ...(lambdaApi && { lambdaApi }),
    ...options,
    region: address.region,
    accountId: address.accountId,
    emulateQueueCreationLifecycle: false,
    queues: queues.flatMap((queue) => {
      const names = localQueueNames(queue)
      const kind = queue.fifo ? { FifoQueue: true, ContentBasedDeduplication: queue.fifo.contentBasedDeduplication } : {}
      return [
        {
          QueueName: names.dlq,
          Attributes: { ...kind, MessageRetentionPeriod: queue.dlqRetentionDays * DAY_SECONDS },
        },
        {
          QueueName: names.queue,
          Attributes: {
            ...kind,
            VisibilityTimeout: queue.visibilityTimeout,
            MessageRetentionPeriod: queue.retentionDays * DAY_SECONDS,
            RedrivePolicy: JSON.stringify({ deadLetterTargetArn: queueArn(address, names.dlq), maxReceiveCount: queue.maxReceiveCount }),
          },
        },
      ]
    }),
  })
}
