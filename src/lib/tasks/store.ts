import type { TaskEvent } from '../messages/contract.ts'
import type { Task } from './task.ts'

/** A page of tasks in the store's stable order; `more` when tasks remain after the last one. */
export interface TaskPage {
  tasks: Task[]
  more: boolean
}

/**
 * One stored item: the task (or, once deleted, a tombstone that lives until its
 * events are out) and its outbox, the events written with it and not yet published.
 */
export interface TaskRecord {
  id: string
  /** Changes on every write, the tombstone's included: the condition of the next write. */
  version: number
  /** Undefined for a tombstone. */
  task: Task | undefined
  outbox: TaskEvent[]
}

/**
 * Persistence of tasks with a transactional outbox in the same item, so a write
 * and the events it must publish commit together (one item, no transaction).
 * Writes are conditional on the version read before; a lost race returns false.
 */
export interface TaskStore {
  get(id: string): Promise<TaskRecord | undefined>
  create(task: Task, outbox: TaskEvent[]): Promise<void>
  replace(task: Task, outbox: TaskEvent[], expectedVersion: number): Promise<boolean>
  /** Replaces the task by a tombstone of `version` carrying the outbox. */
  markDeleted(id: string, version: number, outbox: TaskEvent[], expectedVersion: number): Promise<boolean>
  /** The record's outbox is published: empty it, and drop a tombstone. A newer version keeps its own. */
  clearOutbox(record: TaskRecord): Promise<void>
  /** Records whose outbox is not empty, oldest write first. */
  pending(limit: number): Promise<TaskRecord[]>
  /** Tasks, tombstones left out. */
  list(limit: number, afterId: string | undefined): Promise<TaskPage>
}
