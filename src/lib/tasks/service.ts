import { randomUUID } from 'node:crypto'
import type { EventPublisher } from '../messages/contract.ts'
import type { CreateTaskInput, ReplaceTaskInput } from './schema.ts'
import type { TaskStore } from './store.ts'
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

/**
 * The Task API's domain: every change is written first and its event published
 * after the write has committed.
 */
export class TaskService {
  readonly #store: TaskStore
  readonly #events: EventPublisher
  readonly #now: () => string
  readonly #newId: () => string

  constructor(
    store: TaskStore,
    events: EventPublisher,
    now: () => string = () => new Date().toISOString(),
    newId: () => string = randomUUID,
  ) {
    this.#store = store
    this.#events = events
    this.#now = now
    this.#newId = newId
  }

  async create(input: CreateTaskInput): Promise<Task> {
    const task = newTask(input, this.#newId(), this.#now())
    await this.#store.create(task)
    await this.#events.publish({ event: 'task_created', body: { task } })
    return task
  }

  async get(id: string): Promise<Task> {
    const task = await this.#store.get(id)
    if (!task) throw new TaskNotFoundError()
    return task
  }

  async list(limit: number, cursor: string | undefined): Promise<TaskListing> {
    const afterId = cursor === undefined ? undefined : decodeCursor(cursor)
    const page = await this.#store.list(limit, afterId)
    const last = page.tasks.at(-1)
    return { tasks: page.tasks, nextCursor: page.more && last ? encodeCursor(last.id) : undefined }
  }

  async replace(id: string, input: ReplaceTaskInput, condition?: VersionCondition): Promise<Task> {
    for (let attempt = 1; ; attempt++) {
      const current = await this.get(id)
      if (condition && !condition(current.version)) throw new PreconditionFailedError()
      const next = replaceTask(current, input, this.#now())
      if (await this.#store.replace(next, current.version)) {
        await this.#events.publish({ event: 'task_updated', body: { oldTask: current, newTask: next } })
        return next
      }
      if (attempt === MAX_WRITE_ATTEMPTS) throw new Error(`Task ${id} kept changing under a replace`)
    }
  }

  async remove(id: string, condition?: VersionCondition): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      const current = await this.get(id)
      if (condition && !condition(current.version)) throw new PreconditionFailedError()
      if (await this.#store.remove(id, current.version)) {
        await this.#events.publish({ event: 'task_deleted', body: { task: current, deletedAt: this.#now() } })
        return
      }
      if (attempt === MAX_WRITE_ATTEMPTS) throw new Error(`Task ${id} kept changing under a delete`)
    }
  }
}
