import { createInterface } from 'node:readline/promises'
import {
  countForPurge,
  describePurge,
  messageCounts,
  peekMessages,
  plural,
  purgeCounted,
  purgeQuestion,
  replayDlq,
} from 'arc-plugin-sqs-queues/dlq-operations'
import { formatMessage } from './dlq-format.ts'
import { ProgressLine } from './dlq-progress.ts'
import type { DlqTarget } from './dlq-target.ts'

export { messageCounts, type MessageCounts } from 'arc-plugin-sqs-queues/dlq-operations'

/**
 * The four DLQ commands. Each takes a resolved target (local or deployed),
 * does its work through the shared DLQ operations (a local dashboard uses the
 * same ones), prints what it did and returns the process exit code.
 */

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

export async function peek(target: DlqTarget, max: number): Promise<number> {
  const { dlq } = target
  const received = await peekMessages(target, max)
  if (!received.length) {
    console.log(`${dlq.name} is empty.`)
    return 0
  }
  received.forEach((message, index) => console.log(formatMessage(message, `${index + 1}/${received.length}`)))
  console.log(`${plural(received.length, 'message')} shown; every one is back in ${dlq.name} (peeking counts as a receive).`)
  return 0
}

export async function replay(target: DlqTarget): Promise<number> {
  const { queue, dlq } = target
  const progress = new ProgressLine()
  let result: Awaited<ReturnType<typeof replayDlq>>
  try {
    result = await replayDlq(target, {
      following: () => console.log(`A move task from ${dlq.name} is already running; following it.`),
      progress: (task) => {
        const moved = `${task.ApproximateNumberOfMessagesMoved ?? 0}/${task.ApproximateNumberOfMessagesToMove ?? '?'}`
        progress.update(`Replaying ${dlq.name} -> ${queue.name}: ${moved} moved, ${task.Status}`)
      },
    })
  } finally {
    progress.done()
  }
  if (result.status === 'empty') {
    console.log(`${dlq.name} has no messages to replay${result.inFlight ? ` (${result.inFlight} in flight: try again when they are visible)` : ''}.`)
    return 0
  }
  const { task } = result
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
 * Counts the visible DLQ messages by id, asks, and deletes those ids only:
 * what arrives, becomes visible or was in flight or delayed meanwhile stays.
 * Exits 1 when a counted message could not be deleted.
 */
export async function purge(target: DlqTarget, yes: boolean): Promise<number> {
  const { dlq } = target
  const count = await countForPurge(target)
  const question = purgeQuestion(dlq.name, count)
  if (count.ids.length === 0) {
    console.log(question)
    return 0
  }
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
  const result = await purgeCounted(target, count.ids)
  console.log(describePurge(dlq.name, result))
  return result.missed ? 1 : 0
}
