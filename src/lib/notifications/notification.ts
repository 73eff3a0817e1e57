import type { Task } from '../tasks/task.ts'
import { subjectTask, type TaskEvent, type TaskEventName } from '../messages/contract.ts'

export interface Notification {
  /** `<event>:<taskId>:<version>`: one logical event, one id, however often it is delivered. */
  id: string
  event: TaskEventName
  taskId: string
  /** The task's owner, as the message named it; absent for a message published before tasks had owners. */
  ownerId?: string
  version: number
  subject: string
  text: string
  occurredAt: string
  task: Task
}

function subjectOf(event: TaskEvent): string {
  switch (event.event) {
    case 'task_created':
      return `New task created: ${event.body.task.title}`
    case 'task_updated':
      return event.body.newTask.isComplete && !event.body.oldTask.isComplete
        ? `Task completed: ${event.body.newTask.title}`
        : `Task updated: ${event.body.newTask.title}`
    case 'task_deleted':
      return `Task deleted: ${event.body.task.title}`
  }
}

function occurredAtOf(event: TaskEvent): string {
  switch (event.event) {
    case 'task_created':
      return event.body.task.createdAt
    case 'task_updated':
      return event.body.newTask.updatedAt
    case 'task_deleted':
      return event.body.deletedAt
  }
}

function textOf(task: Task, subject: string): string {
  const lines = [subject, `Status: ${task.isComplete ? 'complete' : 'open'}`]
  if (task.dueAt) lines.push(`Due: ${task.dueAt}`)
  if (task.detail) lines.push('', task.detail)
  return lines.join('\n')
}

export function toNotification(event: TaskEvent): Notification {
  const task = subjectTask(event)
  const subject = subjectOf(event)
  return {
    id: `${event.event}:${task.id}:${task.version}`,
    event: event.event,
    taskId: task.id,
    ...(event.body.ownerId !== undefined && { ownerId: event.body.ownerId }),
    version: task.version,
    subject,
    text: textOf(task, subject),
    occurredAt: occurredAtOf(event),
    task,
  }
}
