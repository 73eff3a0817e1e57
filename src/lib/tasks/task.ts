import type { CreateTaskInput, ReplaceTaskInput } from './schema.ts'

export interface Task {
  id: string
  title: string
  detail?: string
  dueAt?: string
  isComplete: boolean
  version: number
  createdAt: string
  updatedAt: string
}

/** The optional fields appear only when set, so a replaced task loses the ones left out. */
function optionalFields(input: { detail?: string | undefined; dueAt?: string | undefined }): Pick<Task, 'detail' | 'dueAt'> {
  return {
    ...(input.detail !== undefined && { detail: input.detail }),
    ...(input.dueAt !== undefined && { dueAt: input.dueAt }),
  }
}

export function newTask(input: CreateTaskInput, id: string, now: string): Task {
  return {
    id,
    title: input.title,
    ...optionalFields(input),
    isComplete: input.isComplete,
    version: 1,
    createdAt: now,
    updatedAt: now,
  }
}

export function replaceTask(current: Task, input: ReplaceTaskInput, now: string): Task {
  return {
    id: current.id,
    title: input.title,
    ...optionalFields(input),
    isComplete: input.isComplete,
    version: current.version + 1,
    createdAt: current.createdAt,
    updatedAt: now,
  }
}

/** A strong validator of one version of a task: the quoted version number. */
export const etagOf = (task: Pick<Task, 'version'>): string => `"${task.version}"`
