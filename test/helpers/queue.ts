import { SendMessageBatchCommand, type SQSClient } from '@aws-sdk/client-sqs'

export { drainView, queueDepth } from '../../scripts/lib/queues.ts'

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
