import { randomUUID } from 'node:crypto'
import { logger } from '../log.ts'
import type { EventPublisher, TaskEvent } from '../messages/contract.ts'
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

export class InvalidCursorError extends Error {
  override readonly name = 'InvalidCursorError'
  constructor() {
    super('Invalid cursor')
  }
}

/** A caller's condition on the current version (If-Match); absent means "any". */
export type VersionCondition = (currentVersion: number) => boolean

export interface TaskListing {
  tasks: Task[]
  nextCursor: string | undefined
}

const encodeCursor = (afterId: string): string => Buffer.from(JSON.stringify({ after: afterId })).toString('base64url')

function decodeCursor(cursor: string): string {
  try {
    const decoded: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'))
    if (decoded && typeof decoded === 'object' && 'after' in decoded && typeof decoded.after === 'string' && decoded.after) {
      return decoded.after
    }
  } catch {
    // fall through: any undecodable cursor is the caller's mistake
  }
  throw new InvalidCursorError()
}

/** Conditional writes lose to a concurrent writer at most this often before giving up. */
const MAX_WRITE_ATTEMPTS = 5

/** Reading tasks: what the read routes need, with no queue behind them. */
export class TaskQueries {
  protected readonly store: TaskStore

  constructor(store: TaskStore) {
    this.store = store
  }

  async get(id: string): Promise<Task> {
    return (await this.current(id)).task
  }

  async list(limit: number, cursor: string | undefined): Promise<TaskListing> {
    const afterId = cursor === undefined ? undefined : decodeCursor(cursor)
    const page = await this.store.list(limit, afterId)
    const last = page.tasks.at(-1)
    return { tasks: page.tasks, nextCursor: page.more && last ? encodeCursor(last.id) : undefined }
  }

  protected async current(id: string): Promise<TaskRecord & { task: Task }> {
    const record = await this.store.get(id)
    if (!record?.task) throw new TaskNotFoundError()
    return { ...record, task: record.task }
  }
}

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

  constructor(
    store: TaskStore,
    events: EventPublisher,
    now: () => string = () => new Date().toISOString(),
    newId: () => string = randomUUID,
  ) {
    super(store)
    this.#events = events
    this.#now = now
    this.#newId = newId
  }

  async create(input: CreateTaskInput): Promise<Task> {
    const task = newTask(input, this.#newId(), this.#now())
    const outbox: TaskEvent[] = [{ event: 'task_created', body: { task } }]
    await this.store.create(task, outbox)
    // With the request id the log carries: where the trail from API call to downstream starts.
    logger.info('Task created', { taskId: task.id, version: task.version })
    await this.#publish({ id: task.id, version: task.version, task, outbox })
    return task
  }

  async replace(id: string, input: ReplaceTaskInput, condition?: VersionCondition): Promise<Task> {
    for (let attempt = 1; ; attempt++) {
      const current = await this.current(id)
      if (condition && !condition(current.version)) throw new PreconditionFailedError()
      const next = replaceTask(current.task, input, this.#now())
      const outbox: TaskEvent[] = [...current.outbox, { event: 'task_updated', body: { oldTask: current.task, newTask: next } }]
      if (await this.store.replace(next, outbox, current.version)) {
        logger.info('Task updated', { taskId: id, version: next.version })
        await this.#publish({ id, version: next.version, task: next, outbox })
        return next
      }
      if (attempt === MAX_WRITE_ATTEMPTS) throw new Error(`Task ${id} kept changing under a replace`)
    }
  }

  async remove(id: string, condition?: VersionCondition): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      const current = await this.current(id)
      if (condition && !condition(current.version)) throw new PreconditionFailedError()
      const outbox: TaskEvent[] = [...current.outbox, { event: 'task_deleted', body: { task: current.task, deletedAt: this.#now() } }]
      const tombstoneVersion = current.version + 1
      if (await this.store.markDeleted(id, tombstoneVersion, outbox, current.version)) {
        logger.info('Task deleted', { taskId: id, version: current.version })
        await this.#publish({ id, version: tombstoneVersion, task: undefined, outbox })
        return
      }
      if (attempt === MAX_WRITE_ATTEMPTS) throw new Error(`Task ${id} kept changing under a delete`)
    }
  }

  /** Publishes every outbox still pending (the scheduled relay); returns how many records it cleared. */
  async relay(batch = 100): Promise<number> {
    let cleared = 0
    for (const record of await this.store.pending(batch)) {
      if (await this.#publish(record)) cleared++
    }
    return cleared
  }

  /** Publishes an outbox in order and clears it; on failure leaves it for later. */
  async #publish(record: TaskRecord): Promise<boolean> {
    try {
      for (const event of record.outbox) await this.#events.publish(event)
      await this.store.clearOutbox(record)
      return true
    } catch (error) {
      // The write has committed: answer it. What is left is published again later (consumers drop duplicates).
      logger.warn('Outbox not cleared; the relay will publish it', { taskId: record.id, pending: record.outbox.length, error: error as Error })
      return false
    }
  }
}
