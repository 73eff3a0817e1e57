import type { Server } from 'node:http'
import { DeleteMessageBatchCommand, ReceiveMessageCommand, SendMessageBatchCommand, SQSClient, type Message, type ReceiveMessageCommandInput } from '@aws-sdk/client-sqs'
import type { LocalLambdaApi } from 'arc-plugin-sqs-queues/local-lambda-api'
import { localQueueAddress, queueArn, queueUrl, startLocalQueues, type LocalQueueAddress, type LocalQueuesOptions } from 'arc-plugin-sqs-queues/local-queues'
import type { QueueSettings } from 'arc-plugin-sqs-queues/settings'
import { freePort } from './ports.ts'

export { drainView, localSqsClient, queueDepth, type QueueDepth } from '../queues.ts'

/** A queue's settings as the plugin reads them from app.arc: Architect's defaults for a standard queue of this app, with `overrides`. */
export function queueSettings(overrides: Partial<QueueSettings> & Pick<QueueSettings, 'name'>): QueueSettings {
  return { batchSize: 10, batchWindow: 0, maxConcurrency: 2, maxReceiveCount: 5, visibilityTimeout: 30, retentionDays: 4, dlqRetentionDays: 14, consumerTimeout: 10, ...overrides }
}

/** The plugin's local SQS server, started on its own (no sandbox), with an SDK client of it. */
export interface LocalSqs {
  address: LocalQueueAddress
  /** The port it listens on (ARC_SQS_PORT of a client that is to reach it). */
  port: number
  server: Server
  sqs: SQSClient
  url(queue: string): string
  arn(queue: string): string
  close(): Promise<void>
}

export async function startLocalSqs(queues: QueueSettings[], options: { lambdaApi?: LocalLambdaApi; port?: number } & LocalQueuesOptions = {}): Promise<LocalSqs> {
  const { lambdaApi, port, ...queueOptions } = options
  const listening = port ?? (await freePort())
  const address = localQueueAddress({ ARC_SQS_PORT: String(listening) })
  const server = await startLocalQueues(address, queues, lambdaApi, queueOptions)
  const sqs = new SQSClient({ endpoint: address.endpoint, region: address.region, credentials: { accessKeyId: 'local', secretAccessKey: 'local' } })
  return {
    address,
    port: listening,
    server,
    sqs,
    url: (queue) => queueUrl(address, queue),
    arn: (queue) => queueArn(address, queue),
    async close() {
      sqs.destroy()
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}

/**
 * Receives and deletes every visible message: what the queue really held, and
 * an empty queue for what comes next. `receive` adds to the ReceiveMessage call
 * (the attributes to return, say).
 */
export async function takeAll(sqs: SQSClient, queueUrl: string, receive: Partial<ReceiveMessageCommandInput> = {}): Promise<Message[]> {
  const taken: Message[] = []
  for (;;) {
    const { Messages = [] } = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0, VisibilityTimeout: 30, MessageAttributeNames: ['All'], ...receive }),
    )
    if (Messages.length === 0) return taken
    const { Failed = [] } = await sqs.send(
      new DeleteMessageBatchCommand({ QueueUrl: queueUrl, Entries: Messages.map((message, index) => ({ Id: String(index), ReceiptHandle: message.ReceiptHandle })) }),
    )
    if (Failed.length) throw new Error(`DeleteMessageBatch failed: ${JSON.stringify(Failed)}`)
    taken.push(...Messages)
  }
}

/** A raw message for the notifications queue: event attribute and body exactly as given. */
export interface RawMessage {
  event?: string
  body: string
}

/** Sends up to 10 messages in one batch, as given (a failed entry is an error). */
export async function sendRaw(sqs: SQSClient, queueUrl: string, messages: RawMessage[]): Promise<void> {
  const { Failed = [] } = await sqs.send(
    new SendMessageBatchCommand({
      QueueUrl: queueUrl,
      Entries: messages.map((message, index) => ({
        Id: String(index),
        MessageBody: message.body,
        ...(message.event !== undefined && { MessageAttributes: { event: { DataType: 'String', StringValue: message.event } } }),
      })),
    }),
  )
  if (Failed.length) throw new Error(`SendMessageBatch failed: ${JSON.stringify(Failed)}`)
}

/**
 * A `task_created` message as the producer publishes it for the task's owner,
 * or, with no owner, as a producer from before tasks had owners did (its
 * delivery records then belong to no caller: GET /tasks/{id}/notifications shows them to nobody).
 */
export function createdMessage(id: string, title: string, ownerId?: string): RawMessage {
  const now = new Date().toISOString()
  const task = { id, title, isComplete: false, version: 1, createdAt: now, updatedAt: now }
  return { event: 'task_created', body: JSON.stringify({ ...(ownerId !== undefined && { ownerId }), task }) }
}
