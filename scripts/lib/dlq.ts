import { createInterface } from 'node:readline/promises'
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
import { formatMessage } from './dlq-format.ts'
import { ProgressLine } from './dlq-progress.ts'
import type { DlqTarget } from './dlq-target.ts'

/**
 * The four DLQ operations. Each takes a resolved target (local or deployed),
 * prints what it does and returns the process exit code.
 */

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

const isEmpty = (counts: MessageCounts): boolean => counts.messages + counts.inFlight + counts.delayed === 0
const plural = (count: number, noun: string): string => `${count} ${noun}${count === 1 ? '' : 's'}`
const chunks = <T>(items: T[]): T[][] => Array.from({ length: Math.ceil(items.length / SQS_BATCH) }, (_, index) => items.slice(index * SQS_BATCH, (index + 1) * SQS_BATCH))

export async function stats({ sqs, queue, dlq, where }: DlqTarget): Promise<number> {
  const rows = await Promise.all([queue, dlq].map(async (ref) => ({ name: ref.name, counts: await messageCounts(sqs, ref.url) })))
  const width = Math.max(5, ...rows.map((row) => row.name.length))
  console.log(`Queues on ${where}:`)
  console.log(`${'queue'.padEnd(width)}  messages  in flight  delayed`)
  for (const { name, counts } of rows) {
    console.log(`${name.padEnd(width)}  ${String(counts.messages).padStart(8)}  ${String(counts.inFlight).padStart(9)}  ${String(counts.delayed).padStart(7)}`)
  }
  return 0
}

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

export async function peek({ sqs, dlq }: DlqTarget, max: number): Promise<number> {
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
  if (!received.length) {
    console.log(`${dlq.name} is empty.`)
    return 0
  }
  received.forEach((message, index) => console.log(formatMessage(message, `${index + 1}/${received.length}`)))
  console.log(`${plural(received.length, 'message')} shown; every one is back in ${dlq.name} (peeking counts as a receive).`)
  return 0
}

async function latestMoveTask(sqs: SQSClient, sourceArn: string): Promise<ListMessageMoveTasksResultEntry | undefined> {
  const { Results = [] } = await sqs.send(new ListMessageMoveTasksCommand({ SourceArn: sourceArn, MaxResults: 1 }))
  return Results[0]
}

const FINAL_STATUSES = new Set(['COMPLETED', 'FAILED', 'CANCELLED'])

/** Polls the task with a progress line until it has ended, and returns its last state. */
async function followMoveTask(
  { sqs, queue, dlq }: DlqTarget,
  isOurs: (task: ListMessageMoveTasksResultEntry) => boolean,
): Promise<ListMessageMoveTasksResultEntry> {
  const progress = new ProgressLine()
  try {
    for (;;) {
      const task = await latestMoveTask(sqs, dlq.arn)
      if (task && isOurs(task)) {
        const moved = `${task.ApproximateNumberOfMessagesMoved ?? 0}/${task.ApproximateNumberOfMessagesToMove ?? '?'}`
        progress.update(`Replaying ${dlq.name} -> ${queue.name}: ${moved} moved, ${task.Status}`)
        if (FINAL_STATUSES.has(task.Status ?? '')) return task
      }
      await sleep(MOVE_TASK_POLL_MS)
    }
  } finally {
    progress.done()
  }
}

export async function replay(target: DlqTarget): Promise<number> {
  const { sqs, queue, dlq } = target
  const before = await latestMoveTask(sqs, dlq.arn)
  // SQS runs one move task per source at a time: follow one already running rather than fail.
  let isOurs: (task: ListMessageMoveTasksResultEntry) => boolean
  if (before?.Status === 'RUNNING') {
    console.log(`A move task from ${dlq.name} is already running; following it.`)
    isOurs = (task) => task.StartedTimestamp === before.StartedTimestamp
  } else {
    const counts = await messageCounts(sqs, dlq.url)
    if (counts.messages === 0) {
      console.log(`${dlq.name} has no messages to replay${counts.inFlight ? ` (${counts.inFlight} in flight: try again when they are visible)` : ''}.`)
      return 0
    }
    const { TaskHandle } = await sqs.send(new StartMessageMoveTaskCommand({ SourceArn: dlq.arn, DestinationArn: queue.arn }))
    // The list may lag behind the start: until our task shows up, the latest one is the previous task.
    isOurs = (task) => task.TaskHandle === TaskHandle || task.StartedTimestamp !== before?.StartedTimestamp
  }
  const task = await followMoveTask(target, isOurs)
  if (task.Status === 'COMPLETED') {
    console.log(`Moved ${plural(task.ApproximateNumberOfMessagesMoved ?? 0, 'message')} from ${dlq.name} to ${queue.name}.`)
    return 0
  }
  console.error(`The move task ended ${task.Status}${task.FailureReason ? `: ${task.FailureReason}` : ''}; the messages not moved are still in ${dlq.name}.`)
  return 1
}

async function askYesNo(question: string): Promise<boolean> {
  const prompt = createInterface({ input: process.stdin, output: process.stdout })
  try {
    return /^y(es)?$/i.test((await prompt.question(`${question} [y/N] `)).trim())
  } finally {
    prompt.close()
  }
}

/**
 * Deletes up to `limit` messages that can still be received. SQS deletes a
 * purged queue's messages within 60 s (local-aws-sqs: exactly 60 s later);
 * this makes the DLQ empty by the time the command returns. The limit keeps it
 * from deleting messages that arrive after the operator said yes.
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

export async function purge({ sqs, dlq }: DlqTarget, yes: boolean): Promise<number> {
  const counts = await messageCounts(sqs, dlq.url)
  if (isEmpty(counts)) {
    console.log(`${dlq.name} is empty: nothing to purge.`)
    return 0
  }
  const question = `Purge ${plural(counts.messages, 'message')} from ${dlq.name}?`
  if (!yes) {
    if (!process.stdin.isTTY) {
      console.error(`${question} Not without confirmation, and stdin is not a terminal to ask on: pass --yes to purge.`)
      return 1
    }
    if (!(await askYesNo(question))) {
      console.log('Nothing purged.')
      return 1
    }
  }
  try {
    await sqs.send(new PurgeQueueCommand({ QueueUrl: dlq.url }))
  } catch (error) {
    // A purge from the last 60 s is still pending: it covers the same messages.
    if (!(error instanceof PurgeQueueInProgress)) throw error
  }
  await deleteReceivable(sqs, dlq.url, counts.messages)
  console.log(`Purged ${plural(counts.messages, 'message')} from ${dlq.name}.`)
  return 0
}
