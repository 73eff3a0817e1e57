import { randomUUID } from 'node:crypto'
import { logger } from '../log.ts'
import { type EventPublisher, PublishRefusedError } from '../messages/contract.ts'
import { cursorPosition, type Listing, toListing } from '../paging.ts'
import { appendEvent, eventVersion, MAX_REFUSALS, type OutboxEvent, park, type ParkedEvent, type TaskEvents, withOwner } from './outbox.ts'
import type { CreateTaskInput, ReplaceTaskInput } from './schema.ts'
import type { TaskRecord, TaskStore } from './store.ts'
import { newTask, replaceTask, type Task } from './task.ts'

export class TaskNotFoundError extends Error {
  override readonly name = 'TaskNotFoundError'
  constructor() {
    super('Task not found')
  }
}

export class PreconditionFailedError extends Error {
  override readonly name = 'PreconditionFailedError'
  constructor() {
    super('Task has changed since the given ETag (If-Match)')
  }
}

/** A caller's condition on the current version (If-Match); absent means "any". */
export type VersionCondition = (currentVersion: number) => boolean

/** Conditional writes lose to a concurrent writer at most this often before giving up. */
const MAX_WRITE_ATTEMPTS = 5

/**
 * Reading tasks: what the read routes need, with no queue behind them. Every
 * task belongs to the caller who created it (`ownerId`, the token's `sub`) and
 * is seen by that caller only: another's task, or one from before tasks had
 * owners, is not found, so its existence is not revealed either.
 */
export class TaskQueries {
  protected readonly store: TaskStore

  constructor(store: TaskStore) {
    this.store = store
  }

  async get(ownerId: string, id: string): Promise<Task> {
    return (await this.current(ownerId, id)).task
  }

  /** The caller's tasks, a page at a time; the cursor names only the task to start after (paging.ts). */
  async list(ownerId: string, limit: number, cursor: string | undefined): Promise<Listing<Task>> {
    return toListing(await this.store.list(ownerId, limit, cursorPosition(cursor)), (task) => task)
  }

  protected async current(ownerId: string, id: string): Promise<TaskRecord & { task: Task }> {
    const record = await this.store.get(id)
    if (!record?.task || record.ownerId !== ownerId) throw new TaskNotFoundError()
    return { ...record, task: record.task }
  }
}

/** What the relay counts: where the numbers go (CloudWatch, a test's memory) is an adapter's business. */
export interface RelayMetrics {
  /** An event the queue kept refusing was parked. */
  eventParked(event: ParkedEvent): void
}

export interface TaskServiceOptions {
  now?: () => string
  newId?: () => string
  metrics?: RelayMetrics
}

export interface RelayOptions {
  /** Records to look at in one run, oldest first. */
  limit?: number
  /** Time left before the run must have ended (a Lambda's remaining time). */
  remainingMs?: () => number
  /** No new record (or next event of one) is taken once less than this is left: what one publish and one write may take. */
  reserveMs?: number
}

export interface RelayReport {
  /** Records looked at. */
  records: number
  published: number
  /** Refusals counted on events left in their outbox. */
  refused: number
  parked: number
  /** Why the run ended before its last record: the queue could not be reached, or its time ran short. */
  stoppedBy?: 'unreachable' | 'deadline'
}

/** How far one record's outbox got, and the failure that stopped it. */
type Drained = { published: number; refused: number; parked: number; end: 'done' | 'refused' | 'unreachable' | 'deadline'; error?: Error }

/**
 * The Task API's domain. Every change is written together with the events it
 * must publish (the item's outbox), then published and cleared. A publish that
 * fails does not fail the write: the events stay in the outbox until a later
 * write of the task or the relay publishes them.
 */
export class TaskService extends TaskQueries {
  readonly #events: EventPublisher
  readonly #now: () => string
  readonly #newId: () => string
  readonly #metrics: RelayMetrics | undefined

  constructor(store: TaskStore, events: EventPublisher, options: TaskServiceOptions = {}) {
    super(store)
    this.#events = events
    this.#now = options.now ?? (() => new Date().toISOString())
    this.#newId = options.newId ?? randomUUID
    this.#metrics = options.metrics
  }

  async create(ownerId: string, input: CreateTaskInput): Promise<Task> {
    const task = newTask(input, this.#newId(), this.#now())
    const outbox: OutboxEvent[] = [{ event: 'task_created', body: { ownerId, task } }]
    await this.store.create(ownerId, task, outbox)
    // With the request id the log carries: where the trail from API call to downstream starts.
    logger.info('Task created', { taskId: task.id, version: task.version })
    await this.#publishAfterWrite({ id: task.id, ownerId, version: task.version, task, outbox, parked: [] })
    return task
  }

  /** Another caller's task is not found, before any If-Match is looked at: 404 before 412. */
  async replace(ownerId: string, id: string, input: ReplaceTaskInput, condition?: VersionCondition): Promise<Task> {
    for (let attempt = 1; ; attempt++) {
      const current = await this.current(ownerId, id)
      if (condition && !condition(current.version)) throw new PreconditionFailedError()
      const next = replaceTask(current.task, input, this.#now())
      const events: TaskEvents = { outbox: appendEvent(current.outbox, { event: 'task_updated', body: { ownerId, oldTask: current.task, newTask: next } }), parked: current.parked }
      if (await this.store.replace(next, events, current)) {
        logger.info('Task updated', { taskId: id, version: next.version })
        await this.#publishAfterWrite({ id, ownerId, version: next.version, task: next, ...events })
        return next
      }
      if (attempt === MAX_WRITE_ATTEMPTS) throw new Error(`Task ${id} kept changing under a replace`)
    }
  }

  async remove(ownerId: string, id: string, condition?: VersionCondition): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      const current = await this.current(ownerId, id)
      if (condition && !condition(current.version)) throw new PreconditionFailedError()
      const events: TaskEvents = { outbox: appendEvent(current.outbox, { event: 'task_deleted', body: { ownerId, task: current.task, deletedAt: this.#now() } }), parked: current.parked }
      const tombstoneVersion = current.version + 1
      if (await this.store.markDeleted(id, tombstoneVersion, events, current)) {
        logger.info('Task deleted', { taskId: id, version: current.version })
        await this.#publishAfterWrite({ id, ownerId, version: tombstoneVersion, task: undefined, ...events })
        return
      }
      if (attempt === MAX_WRITE_ATTEMPTS) throw new Error(`Task ${id} kept changing under a delete`)
    }
  }

  /**
   * Publishes the outboxes still pending (the scheduled relay), oldest first.
   * One record's refused event holds back neither the others nor, once parked,
   * the rest of its own outbox. An unreachable queue ends the run at once: every
   * other record would wait out the same timeouts. No record is started that
   * might not finish before the run's time is up.
   */
  async relay(options: RelayOptions = {}): Promise<RelayReport> {
    const { limit = 100, remainingMs = () => Infinity, reserveMs = 0 } = options
    const report: RelayReport = { records: 0, published: 0, refused: 0, parked: 0 }
    const timeLeft = () => remainingMs() >= reserveMs
    for (const record of await this.store.pending(limit)) {
      if (!timeLeft()) {
        // Settings whose publish may outlast the function (SQS timeouts x attempts) would otherwise stall the relay unseen.
        if (report.records === 0) logger.warn('Relay run ended before its first record: less time left than one publish may take', { remainingMs: remainingMs(), reserveMs })
        report.stoppedBy = 'deadline'
        break
      }
      report.records++
      const drained = await this.#drain(record, { countRefusals: true, timeLeft })
      report.published += drained.published
      report.refused += drained.refused
      report.parked += drained.parked
      if (drained.end === 'unreachable') logger.warn('Queue unreachable; the relay run ends', { taskId: record.id, error: drained.error })
      if (drained.end === 'unreachable' || drained.end === 'deadline') {
        report.stoppedBy = drained.end
        break
      }
    }
    return report
  }

  /** After a write: publishes its outbox at once; whatever does not go out is left to the relay. */
  async #publishAfterWrite(record: TaskRecord): Promise<void> {
    try {
      const drained = await this.#drain(record, { countRefusals: false, timeLeft: () => true })
      if (drained.end !== 'done') {
        logger.warn('Outbox not cleared; the relay will publish it', { taskId: record.id, pending: record.outbox.length - drained.published, error: drained.error })
      }
    } catch (error) {
      // The write has committed: answer it. What is left is published again later (consumers drop duplicates).
      logger.warn('Outbox not cleared; the relay will publish it', { taskId: record.id, pending: record.outbox.length, error: error as Error })
    }
  }

  /**
   * Publishes a record's outbox in order and writes down how far it got. An
   * event the queue refuses stops its record's outbox (a task's events go out
   * in order) until it is parked; only the relay counts refusals and parks, so
   * that parking, and what reports it, happen in one place.
   */
  async #drain(record: TaskRecord, mode: { countRefusals: boolean; timeLeft: () => boolean }): Promise<Drained> {
    const drained: Drained = { published: 0, refused: 0, parked: 0, end: 'done' }
    const parked: ParkedEvent[] = []
    let left: OutboxEvent[] = []
    for (const [index, event] of record.outbox.entries()) {
      if (index > 0 && !mode.timeLeft()) {
        drained.end = 'deadline'
        left = record.outbox.slice(index)
        break
      }
      try {
        await this.#events.publish(withOwner(event, record.ownerId))
        drained.published++
        continue
      } catch (error) {
        const rest = record.outbox.slice(index + 1)
        drained.error = error as Error
        if (!(error instanceof PublishRefusedError)) {
          drained.end = 'unreachable'
          left = record.outbox.slice(index)
          break
        }
        if (!mode.countRefusals) {
          drained.end = 'refused'
          left = record.outbox.slice(index)
          break
        }
        const refusals = (event.refusals ?? 0) + 1
        if (refusals < MAX_REFUSALS) {
          logger.warn('Outbox event refused', { taskId: record.id, event: event.event, version: eventVersion(event), reason: error.message, refusals })
          drained.refused++
          drained.end = 'refused'
          left = [{ ...event, refusals }, ...rest]
          break
        }
        parked.push(park(event, refusals, error.message, this.#now()))
      }
    }
    if (drained.published === 0 && drained.refused === 0 && parked.length === 0) return drained
    const settled = await this.store.settleOutbox(record, { outbox: left, parked: [...record.parked, ...parked] })
    // A write came in between: it carries the whole outbox on, refusals and parkings of this try forgotten.
    if (!settled) return { ...drained, refused: 0, parked: 0 }
    for (const event of parked) {
      logger.warn('Outbox event parked', { taskId: record.id, event: event.event, version: eventVersion(event), reason: event.reason, refusals: event.refusals })
      this.#metrics?.eventParked(event)
    }
    return { ...drained, parked: parked.length }
  }
}
