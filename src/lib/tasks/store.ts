import type { Task } from './task.ts'

/** A page of tasks in the store's stable order; `more` when tasks remain after the last one. */
export interface TaskPage {
  tasks: Task[]
  more: boolean
}

/**
 * Persistence of tasks. Writes are conditional on the version read before, so
 * two concurrent writers cannot both win; a lost race returns false.
 */
export interface TaskStore {
  get(id: string): Promise<Task | undefined>
  create(task: Task): Promise<void>
  replace(task: Task, expectedVersion: number): Promise<boolean>
  remove(id: string, expectedVersion: number): Promise<boolean>
  list(limit: number, afterId: string | undefined): Promise<TaskPage>
}
