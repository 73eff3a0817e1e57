import { randomUUID } from 'node:crypto'
import { DeleteMessageBatchCommand, ReceiveMessageCommand, type Message, type SQSClient } from '@aws-sdk/client-sqs'
import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda'
import { localQueueEvents, type LocalQueueEvents, type MappingState } from './local-events.ts'
import type { LocalMapping, MappingDescription } from './local-lambda-api.ts'
import { localQueueNames } from './local-queues.ts'
import type { QueueSettings } from './settings.ts'
import { MAX_BATCH_ENTRIES } from './sqs-contents.ts'

/** One execution environment of the consumer: runs one batch at a time, as Lambda would; rejects when it throws or times out. */
export interface ConsumerEnvironment {
  invoke(event: SQSEvent): Promise<unknown>
  stop(): Promise<void>
}

export interface MappingLog {
  info(message: string): void
  warn(message: string): void
}

export interface EventSourceMappingOptions {
  client: SQSClient
  queue: QueueSettings
  queueUrl: string
  queueArn: string
  region: string
  /** A new environment; each poller keeps its own, as each of Lambda's concurrent invocations runs in one. */
  environment: () => ConsumerEnvironment
  log: MappingLog
  /** Where batches and DLQ moves go as events besides the log; the process's own by default. */
  events?: LocalQueueEvents
  /** The mapping's id in the local Lambda API (local-lambda-api.ts); a random one by default. */
  uuid?: string
  /** The consumer's function name as the local Lambda API reports it; `<queue>-consumer` by default. */
  functionName?: string
}

/** How a batch ended: what was deleted, what stays, and why nothing was deleted when nothing was. */
interface BatchOutcome {
  deleted: number
  failed: number
  error?: string
}

/** local-aws-sqs can hand out one message twice in a long poll longer than the visibility timeout: keep polls short. */
const POLL_SECONDS = 1

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

/** A FIFO message's system attributes, which Lambda hands on in each record's `attributes`. */
const FIFO_ATTRIBUTES = ['MessageGroupId', 'MessageDeduplicationId', 'SequenceNumber'] as const

/** The record as Lambda's SQS event source delivers it. */
function toRecord(message: Message, options: EventSourceMappingOptions): SQSRecord {
  const attributes = message.Attributes ?? {}
  const fifo = FIFO_ATTRIBUTES.flatMap((name) => (attributes[name] === undefined ? [] : [[name, attributes[name]]]))
  return {
    messageId: message.MessageId ?? '',
    receiptHandle: message.ReceiptHandle ?? '',
    body: message.Body ?? '',
    attributes: {
      ApproximateReceiveCount: attributes.ApproximateReceiveCount ?? '1',
      SentTimestamp: attributes.SentTimestamp ?? String(Date.now()),
      SenderId: attributes.SenderId ?? 'local',
      ApproximateFirstReceiveTimestamp: attributes.ApproximateFirstReceiveTimestamp ?? String(Date.now()),
      // The producer's trace header, as SQS kept it: Lambda hands it on, and X-Ray links the batch's trace to it.
      ...(attributes.AWSTraceHeader !== undefined && { AWSTraceHeader: attributes.AWSTraceHeader }),
      ...Object.fromEntries(fifo),
    },
    messageAttributes: Object.fromEntries(
      Object.entries(message.MessageAttributes ?? {}).map(([name, value]) => [
        name,
        {
          dataType: value.DataType ?? 'String',
          ...(value.StringValue !== undefined && { stringValue: value.StringValue }),
          ...(value.BinaryValue !== undefined && { binaryValue: Buffer.from(value.BinaryValue).toString('base64') }),
          stringListValues: [],
          binaryListValues: [],
        },
      ]),
    ),
    md5OfBody: message.MD5OfBody ?? '',
    ...(message.MD5OfMessageAttributes !== undefined && { md5OfMessageAttributes: message.MD5OfMessageAttributes }),
    eventSource: 'aws:sqs',
    eventSourceARN: options.queueArn,
    awsRegion: options.region,
  }
}

/** Which records to delete: all but the reported failures, or none when the report is not about this batch. */
export function recordsToDelete(records: SQSRecord[], response: unknown): { remove: SQSRecord[]; failed: number; problem?: string } {
  const failures = (response as Partial<SQSBatchResponse> | null | undefined)?.batchItemFailures ?? []
  if (!Array.isArray(failures)) return { remove: [], failed: records.length, problem: 'batchItemFailures is not a list' }
  const ids = new Set(records.map((record) => record.messageId))
  const failedIds = new Set<string>()
  for (const failure of failures) {
    const id = (failure as { itemIdentifier?: unknown } | null)?.itemIdentifier
    if (typeof id !== 'string' || !ids.has(id)) {
      return { remove: [], failed: records.length, problem: `reported failure ${JSON.stringify(id)} is not in the batch` }
    }
    failedIds.add(id)
  }
  return { remove: records.filter((record) => !failedIds.has(record.messageId)), failed: failedIds.size }
}

/**
 * The records of a FIFO batch to be deleted although an earlier record of their
 * message group failed. Lambda deletes them as reported, which runs the group
 * out of order: on a FIFO queue a handler reports the first failure of a group
 * and every record after it in that group (AWS's rule for partial batch responses).
 */
export function deletedAfterFailureInGroup(records: SQSRecord[], remove: SQSRecord[]): SQSRecord[] {
  const deleted = new Set(remove)
  const failedGroups = new Set<string>()
  return records.filter((record) => {
    const group = record.attributes.MessageGroupId
    if (group === undefined) return false
    if (!deleted.has(record)) failedGroups.add(group)
    return deleted.has(record) && failedGroups.has(group)
  })
}

/** Consecutive slices of at most `size` items: SQS's batch requests take at most 10 entries. */
export function inChunks<T>(items: readonly T[], size: number): T[][] {
  const chunks: T[][] = []
  for (let start = 0; start < items.length; start += size) chunks.push(items.slice(start, start + size))
  return chunks
}

/** A record the consumer handled that is still in the queue, and SQS's reason. */
export interface NotDeleted {
  record: SQSRecord
  reason: string
}

/** `reason: id, id; other reason: id`, one group per distinct reason. */
export function describeNotDeleted(notDeleted: NotDeleted[]): string {
  const byReason = new Map<string, string[]>()
  for (const { record, reason } of notDeleted) byReason.set(reason, [...(byReason.get(reason) ?? []), record.messageId])
  return [...byReason].map(([reason, ids]) => `${reason}: ${ids.join(', ')}`).join('; ')
}

/**
 * Lambda's SQS event source mapping, emulated against the local queue: at most
 * `maxConcurrency` pollers, each invoking the consumer with up to `batchSize`
 * records gathered for up to `batchWindow` seconds, then deleting what succeeded.
 */
export class EventSourceMapping implements LocalMapping {
  readonly #options: EventSourceMappingOptions
  readonly uuid: string
  #running = false
  /** Ends a poller's empty long poll at once when the mapping stops, rather than up to POLL_SECONDS later. */
  #stopping = new AbortController()
  #pollers: Promise<void>[] = []
  #invocations = 0
  #inFlight = 0
  /** UpdateEventSourceMapping's `Enabled`: a disabled mapping's pollers stop receiving and wait. */
  #enabled = true
  /** Pollers waiting while the mapping is disabled: when all wait, it is Disabled, not Disabling. */
  #parked = 0
  #wake: { promise: Promise<void>; resolve: () => void } = Promise.withResolvers<void>()
  #lastModified = Date.now()
  #reportedState: MappingState = 'Enabled'

  constructor(options: EventSourceMappingOptions) {
    this.#options = options
    this.uuid = options.uuid ?? randomUUID()
  }

  /** Lambda's State: Enabled, or Disabling until the invocations under way end and every poller waits, then Disabled. */
  get state(): MappingState {
    if (this.#enabled) return 'Enabled'
    return this.#parked >= this.#options.queue.maxConcurrency || !this.#running ? 'Disabled' : 'Disabling'
  }

  describe(): MappingDescription {
    const { queue, queueArn, region } = this.#options
    return {
      uuid: this.uuid,
      queueArn,
      functionName: this.#options.functionName ?? `${queue.name}-consumer`,
      region,
      batchSize: queue.batchSize,
      batchWindow: queue.batchWindow,
      maxConcurrency: queue.maxConcurrency,
      state: this.state,
      lastModified: this.#lastModified,
    }
  }

  /**
   * UpdateEventSourceMapping's `Enabled`, as Lambda applies it: disabling stops
   * the receives (the batches under way finish: Disabling, then Disabled);
   * enabling makes the pollers receive again. One log line per change.
   */
  setEnabled(enabled: boolean): void {
    if (enabled === this.#enabled) return
    this.#enabled = enabled
    this.#lastModified = Date.now()
    const { queue, log } = this.#options
    if (enabled) {
      const wake = this.#wake
      this.#wake = Promise.withResolvers<void>()
      wake.resolve()
      log.info(`@queues ${queue.name}: event source mapping enabled: ${queue.maxConcurrency} pollers receive again`)
    } else {
      const inFlight = this.#inFlight ? `; the ${this.#inFlight} batch${this.#inFlight === 1 ? '' : 'es'} under way finish` : ''
      log.info(`@queues ${queue.name}: event source mapping disabled: no more receives until it is enabled${inFlight}`)
    }
    this.#reportState()
  }

  /** A 'mapping-state' event each time the State a GetEventSourceMapping would answer changes. */
  #reportState(): void {
    const state = this.state
    if (state === this.#reportedState) return
    this.#reportedState = state
    this.#emit({ type: 'mapping-state', queue: this.#options.queue.name, uuid: this.uuid, state, enabled: this.#enabled, at: Date.now() })
  }

  /** Waits, counted as parked, until the mapping is enabled again or stops. */
  async #waitWhileDisabled(): Promise<void> {
    this.#parked++
    this.#reportState()
    try {
      await this.#wake.promise
    } finally {
      this.#parked--
    }
  }

  start(): void {
    if (this.#running) return
    this.#running = true
    this.#stopping = new AbortController()
    const { queue, log } = this.#options
    log.info(
      `@queues ${queue.name}: ${queue.maxConcurrency} pollers, batches of up to ${queue.batchSize} within ${queue.batchWindow}s, ` +
        `visibility ${queue.visibilityTimeout}s, DLQ after ${queue.maxReceiveCount} receives` +
        (queue.fifo ? '; FIFO: each message group in order, in one invocation at a time' : ''),
    )
    this.#pollers = Array.from({ length: queue.maxConcurrency }, (_, index) => this.#poll(index + 1))
  }

  /** Stops polling and waits for the invocations under way. */
  async stop(): Promise<void> {
    this.#running = false
    this.#wake.resolve()
    this.#stopping.abort()
    await Promise.allSettled(this.#pollers)
  }

  async #poll(poller: number): Promise<void> {
    const environment = this.#options.environment()
    try {
      while (this.#running) {
        if (!this.#enabled) {
          await this.#waitWhileDisabled()
          continue
        }
        try {
          const records = await this.#collectBatch()
          if (records.length) await this.#invoke(poller, environment, records)
        } catch (error) {
          if (!this.#running) return
          this.#options.log.warn(`@queues ${this.#options.queue.name}: poller ${poller}: ${String(error)}`)
          await sleep(1000)
        }
      }
    } finally {
      await environment.stop()
    }
  }

  /** Fills a batch from as many receives as it takes, until batchSize or the batch window closes. */
  async #collectBatch(): Promise<SQSRecord[]> {
    const { client, queue, queueUrl } = this.#options
    const batch = new Map<string, SQSRecord>()
    let windowEnds = Number.POSITIVE_INFINITY
    // A batch being filled when the mapping is disabled goes out with what it holds: those records are received already.
    while (this.#running && this.#enabled && batch.size < queue.batchSize) {
      const remainingMs = windowEnds - Date.now()
      if (batch.size > 0 && remainingMs <= 0) break
      const wait = batch.size === 0 ? POLL_SECONDS : Math.min(POLL_SECONDS, Math.floor(remainingMs / 1000))
      const { Messages = [] } = await client.send(
        new ReceiveMessageCommand({
          QueueUrl: queueUrl,
          MaxNumberOfMessages: Math.min(MAX_BATCH_ENTRIES, queue.batchSize - batch.size),
          WaitTimeSeconds: wait,
          // local-aws-sqs reads AttributeNames, not the newer MessageSystemAttributeNames.
          AttributeNames: ['All'],
          MessageAttributeNames: ['All'],
        }),
        // Only an empty batch's receive: records a batch holds already are still invoked on stop.
        batch.size === 0 ? { abortSignal: this.#stopping.signal } : {},
      )
      for (const message of Messages) batch.set(message.MessageId ?? '', toRecord(message, this.#options))
      if (batch.size > 0 && windowEnds === Number.POSITIVE_INFINITY) windowEnds = Date.now() + queue.batchWindow * 1000
      if (Messages.length === 0 && batch.size > 0 && wait === 0) await sleep(Math.min(100, Math.max(0, windowEnds - Date.now())))
    }
    return [...batch.values()]
  }

  /** One invocation, announced to the event source as it starts and ends. */
  async #invoke(poller: number, environment: ConsumerEnvironment, records: SQSRecord[]): Promise<void> {
    const queue = this.#options.queue.name
    const batch = ++this.#invocations
    const started = Date.now()
    this.#inFlight++
    this.#emit({ type: 'batch-started', queue, batch, poller, size: records.length, inFlight: this.#inFlight, at: started })
    let outcome: BatchOutcome = { deleted: 0, failed: records.length, error: 'the mapping failed' }
    try {
      outcome = await this.#run(batch, poller, environment, records, started)
    } finally {
      this.#inFlight--
      const at = Date.now()
      this.#emit({ type: 'batch-finished', queue, batch, poller, size: records.length, ...outcome, durationMs: at - started, inFlight: this.#inFlight, at })
    }
  }

  async #run(batch: number, poller: number, environment: ConsumerEnvironment, records: SQSRecord[], started: number): Promise<BatchOutcome> {
    const { log, queue } = this.#options
    const label = `@queues ${queue.name}: batch #${batch} (poller ${poller}, ${records.length} record${records.length === 1 ? '' : 's'})`
    let response: unknown
    try {
      response = await environment.invoke({ Records: records })
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error)
      log.warn(`${label} failed, nothing deleted: ${message}`)
      this.#warnDeadLetters(records, records)
      return { deleted: 0, failed: records.length, error: message }
    }
    const { remove, failed, problem } = recordsToDelete(records, response)
    if (problem) {
      log.warn(`${label}: ${problem}; nothing deleted`)
      this.#warnDeadLetters(records, records)
      return { deleted: 0, failed: records.length, error: problem }
    }
    const outOfOrder = deletedAfterFailureInGroup(records, remove)
    if (outOfOrder.length) {
      log.warn(
        `${label}: ${outOfOrder.map((record) => record.messageId).join(', ')} reported done after an earlier record of their message group failed: ` +
          'deleted as Lambda does, so the group runs out of order (report the first failure of a group and every record after it)',
      )
    }
    const notDeleted = await this.#delete(remove)
    if (notDeleted.length) {
      log.warn(`${label}: ${notDeleted.length} of ${remove.length} done but not deleted (back after the visibility timeout): ${describeNotDeleted(notDeleted)}`)
      this.#warnDeadLetters(records, notDeleted.map(({ record }) => record))
    }
    if (failed) {
      log.warn(`${label}: ${remove.length} done, ${failed} failed (left in the queue: received again when their visibility ends)`)
      this.#warnDeadLetters(records, records.filter((record) => !remove.includes(record)))
    } else {
      log.info(`${label}: all done in ${Date.now() - started} ms`)
    }
    return { deleted: remove.length - notDeleted.length, failed }
  }

  #emit(event: Parameters<LocalQueueEvents['emit']>[0]): void {
    ;(this.#options.events ?? localQueueEvents).emit(event)
  }

  /** Deletes in requests SQS accepts; returns what it did not delete and why, from a failed entry or a refused request. */
  async #delete(records: SQSRecord[]): Promise<NotDeleted[]> {
    const { client, queueUrl } = this.#options
    const notDeleted: NotDeleted[] = []
    for (const chunk of inChunks(records, MAX_BATCH_ENTRIES)) {
      try {
        const { Failed = [] } = await client.send(
          new DeleteMessageBatchCommand({ QueueUrl: queueUrl, Entries: chunk.map((record, index) => ({ Id: String(index), ReceiptHandle: record.receiptHandle })) }),
        )
        for (const entry of Failed) {
          const record = chunk[Number(entry.Id)]
          if (record) notDeleted.push({ record, reason: `${entry.Code ?? 'error'}: ${entry.Message ?? 'no message'}` })
        }
      } catch (error) {
        const reason = error instanceof Error ? `${error.name}: ${error.message}` : String(error)
        notDeleted.push(...chunk.map((record) => ({ record, reason })))
      }
    }
    return notDeleted
  }

  #warnDeadLetters(batch: SQSRecord[], failed: SQSRecord[]): void {
    const { log, queue } = this.#options
    const last = failed.filter((record) => Number(record.attributes.ApproximateReceiveCount) >= queue.maxReceiveCount)
    if (last.length && batch.length) {
      const { dlq } = localQueueNames(queue)
      log.warn(
        `@queues ${queue.name}: ${last.length} message(s) failed receive ${queue.maxReceiveCount} of ${queue.maxReceiveCount}: ` +
          `moving to ${dlq}: ${last.map((record) => record.messageId).join(', ')}`,
      )
      this.#emit({ type: 'dead-lettered', queue: queue.name, dlq, messageIds: last.map((record) => record.messageId), at: Date.now() })
    }
  }
}
