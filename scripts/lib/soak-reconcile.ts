import { ChangeMessageVisibilityCommand, type Message, ReceiveMessageCommand, type SQSClient } from '@aws-sdk/client-sqs'
import type { CallNote } from './soak-downstream.ts'
import { say, type ConsumerFailure } from './soak-log.ts'
import type { WebhookCall } from './webhook-receiver.ts'

/** Every task GET /tasks lists to the caller whose `headers` (its Authorization) go with each page, following `Link: <...>; rel="next"`. */
export async function listAllTaskIds(baseUrl: string, headers: Record<string, string>, pageSize = 100): Promise<{ ids: string[]; pages: number }> {
  const ids: string[] = []
  let path: string | undefined = `/tasks?limit=${pageSize}`
  let pages = 0
  while (path) {
    const response: { link: string | null; tasks: { id: string }[] } = await withRetries(`GET ${path}`, async () => {
      const answer = await fetch(new URL(path as string, baseUrl), { headers, signal: AbortSignal.timeout(30_000) })
      const text = await answer.text()
      if (answer.status !== 200) throw new Error(`GET ${path} answered ${answer.status}: ${text.slice(0, 200)}`)
      return { link: answer.headers.get('link'), tasks: JSON.parse(text) as { id: string }[] }
    })
    pages++
    for (const task of response.tasks) ids.push(task.id)
    path = /<([^>]+)>\s*;\s*rel="?next"?/.exec(response.link ?? '')?.[1]
  }
  return { ids, pages }
}

async function withRetries<T>(what: string, attempt: () => Promise<T>, tries = 4): Promise<T> {
  for (let n = 1; ; n++) {
    try {
      return await attempt()
    } catch (error) {
      if (n >= tries) throw error
      say(`  (${what} failed, try ${n} of ${tries}: ${error instanceof Error ? error.message : String(error)})`)
      await new Promise((resolve) => setTimeout(resolve, 1000 * n))
    }
  }
}

export interface DlqEntry {
  messageId: string
  event: string | undefined
  taskId: string | undefined
  receiveCount: number
}

/**
 * Reads every message of the DLQ (hidden while it is read, so none is seen
 * twice) and gives each one back at once with ChangeMessageVisibility 0.
 */
export async function readDlq(sqs: SQSClient, dlqUrl: string): Promise<DlqEntry[]> {
  const received: Message[] = []
  try {
    for (;;) {
      const { Messages = [] } = await sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: dlqUrl,
          MaxNumberOfMessages: 10,
          WaitTimeSeconds: 0,
          VisibilityTimeout: 120,
          AttributeNames: ['All'],
          MessageAttributeNames: ['All'],
        }),
      )
      if (Messages.length === 0) break
      received.push(...Messages)
    }
  } finally {
    for (const message of received) {
      await sqs
        .send(new ChangeMessageVisibilityCommand({ QueueUrl: dlqUrl, ReceiptHandle: message.ReceiptHandle, VisibilityTimeout: 0 }))
        .catch((error: unknown) => say(`  (could not give DLQ message ${message.MessageId} back at once: ${String(error)}; it returns within 120 s)`))
    }
  }
  return received.map((message) => {
    let taskId: string | undefined
    try {
      const body = JSON.parse(message.Body ?? '') as { task?: { id?: unknown }; newTask?: { id?: unknown } }
      const id = body.task?.id ?? body.newTask?.id
      taskId = typeof id === 'string' ? id : undefined
    } catch {
      taskId = undefined
    }
    return {
      messageId: message.MessageId ?? '',
      event: message.MessageAttributes?.event?.StringValue,
      taskId,
      receiveCount: Number(message.Attributes?.ApproximateReceiveCount ?? 0),
    }
  })
}

export interface Reconciliation {
  /** Tasks the API answered 201 for. */
  accepted: number
  /** Tasks GET /tasks lists (undefined when the listing failed). */
  listed: number | undefined
  listedPages: number | undefined
  /** Accepted but not listed (must be 0). */
  acceptedNotListed: string[]
  /** Listed but never answered 201: written by a request that got an error or no answer. */
  listedNotAccepted: string[]
  /** Tasks created: accepted plus listed. */
  created: number
  /** Created tasks whose `task_created:<id>:1` the downstream answered 2xx at least once. */
  delivered: number
  /** Of those, delivered only by answers the consumer never saw (after its timeout): the message went on failing. */
  deliveredOnlyLate: number
  /** Ids answered 2xx more than once. */
  duplicate2xx: number
  /**
   * Of those, the ones where an earlier 2xx was one the consumer saw in time, and yet the
   * notification was delivered again: a real second delivery (must be 0).
   */
  duplicateAfterInTime: DuplicateDetail[]
  /**
   * For comparison with `invocationFailedAfter2xx`: the share of all 2xx answers the consumer saw
   * that had a failed invocation in the same window (what chance alone gives).
   */
  inTime2xxNearInvocationFailure: number
  /** Of those, the ones where every earlier 2xx was answered after the consumer's timeout (the spec's at-least-once edge). */
  duplicateAfterLate: number
  /**
   * Of those, the ones where an earlier 2xx came within the downstream's own delay budget but the
   * consumer logged `Webhook timed out` for it (a loaded machine stretched the call past the timeout):
   * the consumer never saw that 2xx either.
   */
  duplicateAfterConsumerTimeout: number
  /** Any call (whatever the answer) after an in-time 2xx of the same id. */
  resentAfterInTime: number
  /** Messages in the DLQ, and the distinct created tasks they stand for. */
  dlqMessages: number
  dlqTasks: number
  dlqEvents: Record<string, number>
  dlqUnknown: number
  /** DLQ tasks that were also delivered: only by answers the consumer never saw / by one it saw. */
  dlqAndDeliveredLate: number
  dlqAndDeliveredInTime: string[]
  /** DLQ tasks by how many calls the downstream got for them. */
  dlqCallsHistogram: Record<string, number>
  /** Created tasks neither delivered nor in the DLQ (must be 0). */
  missing: string[]
  /** Notification ids delivered that no created task accounts for. */
  strangers: number
  /** created == delivered + DLQ (each task counted once). */
  balanced: boolean
}

/** How long a consumer process cut off at its timeout may go on working: sandbox kills it through `ps` and a signal. */
const CUT_OFF_LINGER_MS = 3000

export interface DuplicateDetail {
  notificationId: string
  calls: { status: number; delayMs: number | undefined; late: boolean | undefined; at: string }[]
  consumerFailures: { at: string; receiveCount: number | undefined; reasons: string[] }[]
  /**
   * A consumer invocation failed (threw or was cut off at its timeout, so nothing of its batch was
   * deleted) around an earlier 2xx: from CUT_OFF_LINGER_MS before it (sandbox reports the timeout
   * before its process is gone, and that process may still deliver) to the consumer's timeout after.
   * The invocation that made the call may have died between the 2xx and its record (the spec's crash edge).
   */
  invocationFailedAfter2xx: boolean
}

export function reconcile(input: {
  acceptedIds: string[]
  listedIds: string[] | undefined
  listedPages: number | undefined
  calls: WebhookCall[]
  noteOf: (call: WebhookCall) => CallNote | undefined
  /** The consumer's logged delivery failures of a notification id. */
  failuresOf: (notificationId: string) => ConsumerFailure[]
  /** When failed consumer invocations ended, epoch ms, and the consumer's timeout. */
  invocationFailures: number[]
  consumerTimeoutMs: number
  dlq: DlqEntry[]
}): Reconciliation {
  const accepted = new Set(input.acceptedIds)
  const listed = input.listedIds ? new Set(input.listedIds) : undefined
  const created = new Set([...accepted, ...(listed ?? [])])

  // Calls for task_created notifications, by task id, in the order they arrived.
  const byTask = new Map<string, WebhookCall[]>()
  let strangers = 0
  for (const call of input.calls) {
    const id = call.body?.id ?? ''
    const taskId = call.body?.taskId ?? ''
    if (id !== `task_created:${taskId}:1`) continue
    if (!created.has(taskId)) {
      if (call.status >= 200 && call.status < 300) strangers++
      continue
    }
    const list = byTask.get(taskId) ?? []
    list.push(call)
    byTask.set(taskId, list)
  }
  const ok = (call: WebhookCall): boolean => call.status >= 200 && call.status < 300
  const late = (call: WebhookCall): boolean => input.noteOf(call)?.late ?? false

  const delivered = new Set<string>()
  const deliveredInTime = new Set<string>()
  let duplicate2xx = 0
  let duplicateAfterLate = 0
  let duplicateAfterConsumerTimeout = 0
  let resentAfterInTime = 0
  const duplicateAfterInTime: DuplicateDetail[] = []
  const nearInvocationFailure = (call: WebhookCall): boolean =>
    input.invocationFailures.some((at) => at >= call.receivedAt - CUT_OFF_LINGER_MS && at <= call.receivedAt + input.consumerTimeoutMs + 1000)
  let inTime2xx = 0
  let inTime2xxNearFailure = 0
  for (const [taskId, calls] of byTask) {
    const notificationId = `task_created:${taskId}:1`
    calls.sort((a, b) => a.receivedAt - b.receivedAt || (input.noteOf(a)?.seq ?? 0) - (input.noteOf(b)?.seq ?? 0))
    const failures = input.failuresOf(notificationId)
    // Did the consumer log a webhook timeout for this id after this call arrived and before the next call?
    const timedOutAtConsumer = (index: number): boolean => {
      const call = calls[index] as WebhookCall
      const until = calls[index + 1]?.receivedAt ?? Number.POSITIVE_INFINITY
      return failures.some((failure) => failure.at >= call.receivedAt && failure.at <= until && failure.reasons.some((reason) => /timed out/i.test(reason)))
    }
    const answered2xx = calls.flatMap((call, index) => (ok(call) ? [{ call, index }] : []))
    for (const { call, index } of answered2xx) {
      if (late(call) || timedOutAtConsumer(index)) continue
      inTime2xx++
      if (nearInvocationFailure(call)) inTime2xxNearFailure++
    }
    if (answered2xx.length) delivered.add(taskId)
    if (answered2xx.some(({ call, index }) => !late(call) && !timedOutAtConsumer(index))) deliveredInTime.add(taskId)
    const firstInTime = calls.findIndex((call, index) => ok(call) && !late(call) && !timedOutAtConsumer(index))
    if (firstInTime >= 0 && firstInTime < calls.length - 1) resentAfterInTime++
    if (answered2xx.length > 1) {
      duplicate2xx++
      const earlier = answered2xx.slice(0, -1)
      if (earlier.every(({ call }) => late(call))) duplicateAfterLate++
      else if (earlier.every(({ call, index }) => late(call) || timedOutAtConsumer(index))) duplicateAfterConsumerTimeout++
      else {
        const invocationFailedAfter2xx = earlier.some(({ call }) => nearInvocationFailure(call))
        duplicateAfterInTime.push({
          notificationId,
          invocationFailedAfter2xx,
          calls: calls.map((call) => ({ status: call.status, delayMs: input.noteOf(call)?.delayMs, late: input.noteOf(call)?.late, at: new Date(call.receivedAt).toISOString() })),
          consumerFailures: failures.map((failure) => ({ at: new Date(failure.at).toISOString(), receiveCount: failure.receiveCount, reasons: failure.reasons })),
        })
      }
    }
  }

  const dlqTaskIds = new Set<string>()
  const dlqEvents: Record<string, number> = {}
  let dlqUnknown = 0
  for (const entry of input.dlq) {
    const event = entry.event ?? '(none)'
    dlqEvents[event] = (dlqEvents[event] ?? 0) + 1
    if (entry.event === 'task_created' && entry.taskId && created.has(entry.taskId)) dlqTaskIds.add(entry.taskId)
    else dlqUnknown++
  }
  const dlqCallsHistogram: Record<string, number> = {}
  for (const taskId of dlqTaskIds) {
    const calls = byTask.get(taskId)?.length ?? 0
    dlqCallsHistogram[`${calls} call${calls === 1 ? '' : 's'}`] = (dlqCallsHistogram[`${calls} call${calls === 1 ? '' : 's'}`] ?? 0) + 1
  }
  const inBoth = [...dlqTaskIds].filter((taskId) => delivered.has(taskId))
  const missing = [...created].filter((taskId) => !delivered.has(taskId) && !dlqTaskIds.has(taskId))

  return {
    accepted: accepted.size,
    listed: listed?.size,
    listedPages: input.listedPages,
    acceptedNotListed: listed ? [...accepted].filter((id) => !listed.has(id)) : [],
    listedNotAccepted: listed ? [...listed].filter((id) => !accepted.has(id)) : [],
    created: created.size,
    delivered: delivered.size,
    deliveredOnlyLate: [...delivered].filter((taskId) => !deliveredInTime.has(taskId)).length,
    duplicate2xx,
    duplicateAfterInTime,
    inTime2xxNearInvocationFailure: inTime2xx ? inTime2xxNearFailure / inTime2xx : 0,
    duplicateAfterLate,
    duplicateAfterConsumerTimeout,
    resentAfterInTime,
    dlqMessages: input.dlq.length,
    dlqTasks: dlqTaskIds.size,
    dlqEvents,
    dlqUnknown,
    dlqAndDeliveredLate: inBoth.filter((taskId) => !deliveredInTime.has(taskId)).length,
    dlqAndDeliveredInTime: inBoth.filter((taskId) => deliveredInTime.has(taskId)),
    dlqCallsHistogram,
    missing,
    strangers,
    balanced: created.size === delivered.size + dlqTaskIds.size,
  }
}

export interface DeliveryEvidence {
  taskId: string
  why: string
  /** GET /tasks/{id}/notifications: the app's delivery log of the task. */
  records: { notificationId?: string; receiveCount?: number; deliveredAt?: string; messageId?: string }[] | string
}

/** The delivery log of a few tasks whose figures need explaining, read as their creator (`headers`: its Authorization). */
export async function deliveryEvidence(baseUrl: string, headers: Record<string, string>, cases: { taskId: string; why: string }[], max = 10): Promise<DeliveryEvidence[]> {
  const evidence: DeliveryEvidence[] = []
  for (const { taskId, why } of cases.slice(0, max)) {
    try {
      const response = await fetch(new URL(`/tasks/${taskId}/notifications`, baseUrl), { headers, signal: AbortSignal.timeout(30_000) })
      const text = await response.text()
      if (response.status !== 200) {
        evidence.push({ taskId, why, records: `GET answered ${response.status}: ${text.slice(0, 200)}` })
        continue
      }
      const records = JSON.parse(text) as Record<string, unknown>[]
      evidence.push({
        taskId,
        why,
        records: records.map((record) => ({
          notificationId: record.notificationId as string | undefined,
          receiveCount: record.receiveCount as number | undefined,
          deliveredAt: record.deliveredAt as string | undefined,
          messageId: record.messageId as string | undefined,
        })),
      })
    } catch (error) {
      evidence.push({ taskId, why, records: `GET failed: ${error instanceof Error ? error.message : String(error)}` })
    }
  }
  return evidence
}
