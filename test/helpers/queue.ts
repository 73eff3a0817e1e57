import { ReceiveMessageCommand, SendMessageBatchCommand, type SQSClient } from '@aws-sdk/client-sqs'

export { queueDepth } from '../../scripts/lib/queues.ts'

/** A raw message for the notifications queue: event attribute and body exactly as given. */
export interface RawMessage {
  event?: string
  body: string
}

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

/** Reads every message of a queue without deleting it (each becomes visible again after the queue's visibility timeout). */
export async function drainView(sqs: SQSClient, queueUrl: string): Promise<{ body: string; event: string | undefined }[]> {
  const seen: { body: string; event: string | undefined }[] = []
  for (;;) {
    const { Messages = [] } = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0, MessageAttributeNames: ['All'], VisibilityTimeout: 30 }),
    )
    if (Messages.length === 0) return seen
    for (const message of Messages) seen.push({ body: message.Body ?? '', event: message.MessageAttributes?.event?.StringValue })
  }
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
