import { setTimeout as sleep } from 'node:timers/promises'
import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  ListMessageMoveTasksCommand,
  type ListMessageMoveTasksResultEntry,
  type Message,
  PurgeQueueCommand,
  PurgeQueueInProgress,
  ReceiveMessageCommand,
  type SQSClient,
  StartMessageMoveTaskCommand,
} from '@aws-sdk/client-sqs'

/**
 * What can be done with a queue's dead-letter queue: count, peek, replay
 * (SQS's own message move task) and purge. Plain operations that print
 * nothing, so that every tool shares them: `npm run dlq` prints what they
 * return, a local dashboard shows it. They work the same on the local SQS
 * server and on AWS.
 */
export interface QueueRef {
  name: string
  url: string
  arn: string
}

/** A queue and its DLQ, and the client that reaches them. */
export interface DlqQueues {
  sqs: SQSClient
  queue: QueueRef
  dlq: QueueRef
}

/** SQS allows at most 10 messages per receive and per batch call. */
const SQS_BATCH = 10
/** Long polls stay short: an empty queue should not keep the operator waiting. */
const WAIT_SECONDS = 1
/** How long peek and purge hide what they receive; a crashed run gives the messages back after it. */
const HIDE_SECONDS = 30
const MOVE_TASK_POLL_MS = 500

export interface MessageCounts {
  messages: number
  inFlight: number
  delayed: number
}

export async function messageCounts(sqs: SQSClient, queueUrl: string): Promise<MessageCounts> {
  const { Attributes = {} } = await sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: queueUrl,
      AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible', 'ApproximateNumberOfMessagesDelayed'],
    }),
  )
  return {
    messages: Number(Attributes.ApproximateNumberOfMessages ?? 0),
    inFlight: Number(Attributes.ApproximateNumberOfMessagesNotVisible ?? 0),
    delayed: Number(Attributes.ApproximateNumberOfMessagesDelayed ?? 0),
  }
}

export const isEmpty = (counts: MessageCounts): boolean => counts.messages + counts.inFlight + counts.delayed === 0
export const plural = (count: number, noun: string): string => `${count} ${noun}${count === 1 ? '' : 's'}`
const chunks = <T>(items: T[]): T[][] => Array.from({ length: Math.ceil(items.length / SQS_BATCH) }, (_, index) => items.slice(index * SQS_BATCH, (index + 1) * SQS_BATCH))

async function receiveBatch(sqs: SQSClient, queueUrl: string, max: number): Promise<Message[]> {
  const { Messages = [] } = await sqs.send(
    new ReceiveMessageCommand({
      QueueUrl: queueUrl,
      MaxNumberOfMessages: Math.min(SQS_BATCH, max),
      WaitTimeSeconds: WAIT_SECONDS,
      VisibilityTimeout: HIDE_SECONDS,
      // AttributeNames rather than MessageSystemAttributeNames: local-aws-sqs reads only the former, AWS both.
      AttributeNames: ['All'],
      MessageAttributeNames: ['All'],
    }),
  )
  return Messages
}

/** Makes received messages visible again, all in one go, so that peeking hides nothing. */
async function makeVisible(sqs: SQSClient, queueUrl: string, messages: Message[]): Promise<void> {
  const results = await Promise.all(
    chunks(messages).map((chunk) =>
      sqs.send(
        new ChangeMessageVisibilityBatchCommand({
          QueueUrl: queueUrl,
          Entries: chunk.map((message, index) => ({ Id: String(index), ReceiptHandle: message.ReceiptHandle, VisibilityTimeout: 0 })),
        }),
      ),
    ),
  )
  const failed = results.flatMap((result) => result.Failed ?? [])
  if (failed.length) {
    throw new Error(`${plural(failed.length, 'message')} could not be made visible again (${failed[0]?.Message}); they return to the DLQ within ${HIDE_SECONDS} s`)
  }
}

/** Up to `max` DLQ messages, each shown once and every one visible in the DLQ again afterwards (a peek counts as a receive). */
export async function peekMessages({ sqs, dlq }: DlqQueues, max: number): Promise<Message[]> {
  const received: Message[] = []
  try {
    // Everything received stays hidden until the end, so no message is shown twice.
    while (received.length < max) {
      const batch = await receiveBatch(sqs, dlq.url, max - received.length)
      if (!batch.length) break
      received.push(...batch)
    }
  } finally {
    if (received.length) await makeVisible(sqs, dlq.url, received)
  }
  return received
}

async function latestMoveTask(sqs: SQSClient, sourceArn: string): Promise<ListMessageMoveTasksResultEntry | undefined> {
  const { Results = [] } = await sqs.send(new ListMessageMoveTasksCommand({ SourceArn: sourceArn, MaxResults: 1 }))
  return Results[0]
}

const FINAL_STATUSES = new Set(['COMPLETED', 'FAILED', 'CANCELLED'])

export interface ReplayCallbacks {
  /** A move task from this DLQ was already running: the replay follows it instead of starting one. */
  following?(): void
  /** The move task's state, each time it is polled until it has ended. */
  progress?(task: ListMessageMoveTasksResultEntry): void
}

export type ReplayResult =
  /** Nothing to move; `inFlight` messages are hidden (being peeked, say) and could be moved once visible. */
  | { status: 'empty'; inFlight: number }
  /** The move task's last state: COMPLETED, FAILED or CANCELLED. */
  | { status: 'ended'; task: ListMessageMoveTasksResultEntry }

/** Moves every DLQ message back to its queue with SQS's message move task, and waits until the task has ended. */
export async function replayDlq({ sqs, queue, dlq }: DlqQueues, callbacks: ReplayCallbacks = {}): Promise<ReplayResult> {
  const before = await latestMoveTask(sqs, dlq.arn)
  // SQS runs one move task per source at a time: follow one already running rather than fail.
  let isOurs: (task: ListMessageMoveTasksResultEntry) => boolean
  if (before?.Status === 'RUNNING') {
    callbacks.following?.()
    isOurs = (task) => task.StartedTimestamp === before.StartedTimestamp
  } else {
    const counts = await messageCounts(sqs, dlq.url)
    if (counts.messages === 0) return { status: 'empty', inFlight: counts.inFlight }
    const { TaskHandle } = await sqs.send(new StartMessageMoveTaskCommand({ SourceArn: dlq.arn, DestinationArn: queue.arn }))
    // The list may lag behind the start: until our task shows up, the latest one is the previous task.
    isOurs = (task) => task.TaskHandle === TaskHandle || task.StartedTimestamp !== before?.StartedTimestamp
  }
  for (;;) {
    const task = await latestMoveTask(sqs, dlq.arn)
    if (task && isOurs(task)) {
      callbacks.progress?.(task)
      if (FINAL_STATUSES.has(task.Status ?? '')) return { status: 'ended', task }
    }
    await sleep(MOVE_TASK_POLL_MS)
  }
}

/**
 * Deletes up to `limit` messages that can still be received. SQS deletes a
 * purged queue's messages within 60 s (local-aws-sqs: exactly 60 s later);
 * this makes the DLQ empty by the time the purge returns. The limit keeps it
 * from deleting messages that arrive after the operator decided.
 */
async function deleteReceivable(sqs: SQSClient, queueUrl: string, limit: number): Promise<void> {
  let deleted = 0
  while (deleted < limit) {
    const batch = await receiveBatch(sqs, queueUrl, limit - deleted)
    if (!batch.length) return
    await sqs.send(
      new DeleteMessageBatchCommand({ QueueUrl: queueUrl, Entries: batch.map((message, index) => ({ Id: String(index), ReceiptHandle: message.ReceiptHandle })) }),
    )
    deleted += batch.length
  }
}

/** Purges the DLQ, whose `count` messages the operator agreed to lose, and deletes at once what is still there of them. */
export async function purgeDlq({ sqs, dlq }: DlqQueues, count: number): Promise<void> {
  try {
    await sqs.send(new PurgeQueueCommand({ QueueUrl: dlq.url }))
  } catch (error) {
    // A purge from the last 60 s is still pending: it covers the same messages.
    if (!(error instanceof PurgeQueueInProgress)) throw error
  }
  await deleteReceivable(sqs, dlq.url, count)
}
