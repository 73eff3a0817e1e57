import type { StoredPage } from '../paging.ts'
import type { OutboxEvent, TaskEvents } from './outbox.ts'
import type { Task } from './task.ts'

/**
 * One stored item: the task (or, once deleted, a tombstone that lives until its
 * events are out) with its outbox, the events written with it and not yet
 * published, and the events parked after the queue kept refusing them.
 */
export interface TaskRecord extends TaskEvents {
  id: string
  /** The `sub` of the caller who created the task, kept by its tombstone; undefined for an item from before tasks had owners. */
  ownerId: string | undefined
  /** Changes on every write, the tombstone's included: the condition of the next write. */
  version: number
  /** Undefined for a tombstone. */
  task: Task | undefined
}

/**
 * Persistence of tasks with a transactional outbox in the same item, so a write
 * and the events it must publish commit together (one item, no transaction).
 * Writes are conditional on the record read before (its version and its parked
 * events); a lost race returns false.
 */
export interface TaskStore {
  /** Whoever owns it: which caller may see it is the service's rule. */
  get(id: string): Promise<TaskRecord | undefined>
  create(ownerId: string, task: Task, outbox: OutboxEvent[]): Promise<void>
  /** Writes the task with the events it carries from now on; `expected` is the record read before, whose owner it keeps. */
  replace(task: Task, events: TaskEvents, expected: TaskRecord): Promise<boolean>
  /** Replaces the task by a tombstone of `version` carrying the events, and the owner. */
  markDeleted(id: string, version: number, events: TaskEvents, expected: TaskRecord): Promise<boolean>
  /**
   * The record's events after a publish: what went out has left the outbox,
   * refusals are counted, parked events added. The task is left as it is; a
   * tombstone with no events left is dropped. False when the record changed
   * meanwhile (the newer write carries the events on).
   */
  settleOutbox(record: TaskRecord, events: TaskEvents): Promise<boolean>
  /** Records whose outbox is not empty, oldest write first. */
  pending(limit: number): Promise<TaskRecord[]>
  /**
   * One owner's tasks after the task `afterId`, tombstones left out, in a stable
   * order, from an index on the owner (never a read of every item); `next` is the
   * last task's id while more remain.
   */
  list(ownerId: string, limit: number, afterId: string | undefined): Promise<StoredPage<Task>>
}
