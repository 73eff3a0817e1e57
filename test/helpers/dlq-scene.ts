import { ReceiveMessageCommand, SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs'
import { queueDepth, sleep, takeAll } from '../../scripts/lib/harness/index.ts'

/**
 * What a purge must tell apart, set up in a DLQ: two visible messages (the
 * ones it may count), one in flight (another reader received it) and one
 * delayed, both hidden for `hiddenSeconds`.
 */
export interface PurgeScene {
  visibleIds: string[]
  inFlightId: string
  delayedId: string
}

export async function sendOne(sqs: SQSClient, queueUrl: string, body: string, delaySeconds?: number): Promise<string> {
  const { MessageId } = await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: body, DelaySeconds: delaySeconds }))
  if (!MessageId) throw new Error('SendMessage gave no MessageId')
  return MessageId
}

/** Sets up the scene in an empty queue. */
export async function purgeScene(sqs: SQSClient, queueUrl: string, hiddenSeconds: number): Promise<PurgeScene> {
  const inFlightId = await sendOne(sqs, queueUrl, 'in flight')
  const { Messages = [] } = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 1, WaitTimeSeconds: 0, VisibilityTimeout: hiddenSeconds }))
  if (Messages[0]?.MessageId !== inFlightId) throw new Error(`the queue was not empty: received ${Messages[0]?.MessageId}, not ${inFlightId}`)
  const delayedId = await sendOne(sqs, queueUrl, 'delayed', hiddenSeconds)
  const visibleIds = [await sendOne(sqs, queueUrl, 'visible one'), await sendOne(sqs, queueUrl, 'visible two')]
  return { visibleIds, inFlightId, delayedId }
}

/** Waits until `visible` messages wait in the queue and none is in flight or delayed; false if that takes over `timeoutMs`. */
export async function untilSettled(sqs: SQSClient, queueUrl: string, visible: number, timeoutMs: number): Promise<boolean> {
  for (const deadline = Date.now() + timeoutMs; Date.now() < deadline; await sleep(200)) {
    const now = await queueDepth(sqs, queueUrl)
    if (now.visible === visible && now.inFlight === 0 && now.delayed === 0) return true
  }
  return false
}

/** Receives and deletes every visible message; their ids, sorted. */
export async function takeIds(sqs: SQSClient, queueUrl: string): Promise<string[]> {
  return (await takeAll(sqs, queueUrl)).flatMap((message) => (message.MessageId ? [message.MessageId] : [])).sort()
}
