import { setTimeout as sleep } from 'node:timers/promises'
import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  ListMessageMoveTasksCommand,
  type ListMessageMoveTasksResultEntry,
  type Message,
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
/** A purge counts at most this many messages (the rest wait for another purge)... */
export const PURGE_MAX = 1000
/** ...and looks at most at this many while deleting them, so that a DLQ filling up as fast as it is read cannot keep it going. */
const PURGE_SCAN_MAX = 2 * PURGE_MAX
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

export const plural = (count: number, noun: string): string => `${count} ${noun}${count === 1 ? '' : 's'}`
const chunks = <T>(items: T[]): T[][] => Array.from({ length: Math.ceil(items.length / SQS_BATCH) }, (_, index) => items.slice(index * SQS_BATCH, (index + 1) * SQS_BATCH))

async function receiveBatch(sqs: SQSClient, queueUrl: string, max: number, waitSeconds: number): Promise<Message[]> {
  const { Messages = [] } = await sqs.send(
    new ReceiveMessageCommand({
      QueueUrl: queueUrl,
      MaxNumberOfMessages: Math.min(SQS_BATCH, max),
      WaitTimeSeconds: waitSeconds,
      VisibilityTimeout: HIDE_SECONDS,
      // AttributeNames rather than MessageSystemAttributeNames: local-aws-sqs reads only the former, AWS both.
      AttributeNames: ['All'],
      MessageAttributeNames: ['All'],
    }),
  )
  return Messages
}

/**
 * Receives batch after batch, each message hidden for HIDE_SECONDS, until up
 * to `max` are received or the queue has no more visible ones. Short polls
 * while messages come (fast); once one comes back empty, a long poll makes
 * sure, since a short poll on AWS samples only some of the queue's servers.
 */
async function* receiveVisible(sqs: SQSClient, queueUrl: string, max: number): AsyncGenerator<Message[]> {
  let received = 0
  let waitSeconds = 0
  while (received < max) {
    const batch = await receiveBatch(sqs, queueUrl, max - received, waitSeconds)
    if (!batch.length) {
      if (waitSeconds) return
      waitSeconds = WAIT_SECONDS
      continue
    }
    waitSeconds = 0
    received += batch.length
    yield batch
  }
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

/**
 * Receives up to `max` visible DLQ messages, hands them to `use` while they
 * are still hidden (so no message is received twice, and the queue's counts
 * tell them apart from messages in flight elsewhere), then makes every one
 * visible again.
 */
async function whileReceived<T>({ sqs, dlq }: DlqQueues, max: number, use: (messages: Message[]) => Promise<T>): Promise<T> {
  const received: Message[] = []
  try {
    for await (const batch of receiveVisible(sqs, dlq.url, max)) received.push(...batch)
    return await use(received)
  } finally {
    if (received.length) await makeVisible(sqs, dlq.url, received)
  }
}

/** Up to `max` DLQ messages, each shown once and every one visible in the DLQ again afterwards (a peek counts as a receive). */
export const peekMessages = (queues: DlqQueues, max: number): Promise<Message[]> => whileReceived(queues, max, async (messages) => messages)

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
 * What a purge asks the operator about: the DLQ's visible messages, by id.
 * Messages in flight or delayed at the count are not among them, and stay.
 */
export interface PurgeCount {
  ids: string[]
  /** The DLQ held more than PURGE_MAX visible messages: only the first PURGE_MAX were counted. */
  more: boolean
  inFlight: number
  delayed: number
}

/** Counts the messages a purge would delete, by receiving them; every one is visible again when it returns. */
export const countForPurge = (queues: DlqQueues): Promise<PurgeCount> =>
  whileReceived(queues, PURGE_MAX + 1, async (visible) => {
    const counts = await messageCounts(queues.sqs, queues.dlq.url)
    return {
      ids: visible.slice(0, PURGE_MAX).flatMap((message) => (message.MessageId ? [message.MessageId] : [])),
      more: visible.length > PURGE_MAX,
      // The counted ones are hidden by this count, not in flight.
      inFlight: Math.max(0, counts.inFlight - visible.length),
      delayed: counts.delayed,
    }
  })

const nothingToPurge = (count: PurgeCount): boolean => count.ids.length + count.inFlight + count.delayed === 0

/** The question the operator answers, or why there is nothing to ask. */
export function purgeQuestion(dlqName: string, count: PurgeCount): string {
  if (nothingToPurge(count)) return `${dlqName} is empty: nothing to purge.`
  const untouched = [count.inFlight && `${count.inFlight} in flight`, count.delayed && `${count.delayed} delayed`].filter(Boolean).join(' and ')
  const stay = untouched ? ` (${untouched} ${count.inFlight + count.delayed === 1 ? 'is' : 'are'} not counted and stay)` : ''
  if (count.ids.length === 0) return `${dlqName} has no visible messages to purge${stay}.`
  return `Purge ${count.more ? 'the first ' : ''}${plural(count.ids.length, 'message')} from ${dlqName}${stay}? They are lost.`
}

export interface PurgeResult {
  deleted: number
  /** Counted, but not receivable when the purge came to them (received elsewhere, moved, expired): not deleted. */
  missed: number
  /** What the DLQ still holds: in flight and delayed, and visible messages that were not counted (newer ones). */
  left: { inFlight: number; delayed: number; newer: number }
  /** False when the purge stopped looking at PURGE_SCAN_MAX messages: `newer` counts the ones it saw. */
  complete: boolean
}

/** Deletes the received messages; their ids leave `pending` as SQS confirms each delete. */
async function deleteReceived(sqs: SQSClient, queueUrl: string, messages: Message[], pending: Set<string>): Promise<number> {
  if (!messages.length) return 0
  const { Successful = [] } = await sqs.send(
    new DeleteMessageBatchCommand({ QueueUrl: queueUrl, Entries: messages.map((message, index) => ({ Id: String(index), ReceiptHandle: message.ReceiptHandle })) }),
  )
  for (const entry of Successful) pending.delete(messages[Number(entry.Id)]?.MessageId ?? '')
  return Successful.length
}

/**
 * Deletes exactly the counted messages (`ids`, from countForPurge), by the
 * receipt handle of a fresh receive: never PurgeQueue, which would also take
 * what arrived, became visible, was in flight or delayed since the count.
 * What it receives and did not count stays hidden until it has seen the
 * whole DLQ (so that no message is looked at twice), then is made visible
 * at once.
 */
export async function purgeCounted({ sqs, dlq }: DlqQueues, ids: readonly string[]): Promise<PurgeResult> {
  const pending = new Set(ids)
  const notCounted = new Map<string, Message>()
  let deleted = 0
  let received = 0
  try {
    for await (const batch of receiveVisible(sqs, dlq.url, PURGE_SCAN_MAX)) {
      received += batch.length
      const counted = batch.filter((message) => pending.has(message.MessageId ?? ''))
      for (const message of batch) if (!pending.has(message.MessageId ?? '')) notCounted.set(message.MessageId ?? '', message)
      deleted += await deleteReceived(sqs, dlq.url, counted, pending)
    }
    // Counted while the not-counted ones are still hidden by this purge: they are not in flight elsewhere.
    const counts = await messageCounts(sqs, dlq.url)
    return {
      deleted,
      missed: pending.size,
      left: { inFlight: Math.max(0, counts.inFlight - notCounted.size), delayed: counts.delayed, newer: notCounted.size },
      complete: received < PURGE_SCAN_MAX,
    }
  } finally {
    if (notCounted.size) await makeVisible(sqs, dlq.url, [...notCounted.values()])
  }
}

/** What a purge did, in one sentence for the operator. */
export function describePurge(dlqName: string, result: PurgeResult): string {
  const { inFlight, delayed, newer } = result.left
  const missed = result.missed ? ` ${plural(result.missed, 'counted message')} could not be received to delete (in flight elsewhere, or gone): not purged.` : ''
  return (
    `Purged ${plural(result.deleted, 'message')} from ${dlqName}; left there, not counted: ` +
    `${inFlight} in flight, ${delayed} delayed, ${result.complete ? '' : 'at least '}${newer} newer.${missed}`
  )
}
