import * as z from 'zod/mini'
import type { Task } from '../tasks/task.ts'

/**
 * The message contract between the Task API and the notification consumer:
 * the SQS message attribute `event` names the event, the body carries the task(s)
 * and, at its top level, the task's owner.
 */
export const TASK_EVENT_NAMES = ['task_created', 'task_updated', 'task_deleted'] as const
export type TaskEventName = (typeof TASK_EVENT_NAMES)[number]

/**
 * The `sub` of the caller the task belongs to. Optional: messages published
 * before tasks had owners (in flight during an upgrade, or still in an outbox)
 * have none, and must still be delivered.
 */
interface Owned {
  ownerId?: string
}

export type TaskEvent =
  | { event: 'task_created'; body: Owned & { task: Task } }
  | { event: 'task_updated'; body: Owned & { oldTask: Task; newTask: Task } }
  | { event: 'task_deleted'; body: Owned & { task: Task; deletedAt: string } }

const timestamp = z.iso.datetime()

const text = z.string().check(z.minLength(1))

const storedTask = z.object({
  id: text,
  title: text,
  detail: z.optional(z.string()),
  dueAt: z.optional(timestamp),
  isComplete: z.boolean(),
  version: z.int().check(z.positive()),
  createdAt: timestamp,
  updatedAt: timestamp,
})

const ownerId = z.optional(text)

const bodySchemas = {
  task_created: z.object({ ownerId, task: storedTask }),
  task_updated: z.object({ ownerId, oldTask: storedTask, newTask: storedTask }),
  task_deleted: z.object({ ownerId, task: storedTask, deletedAt: timestamp }),
} satisfies Record<TaskEventName, z.ZodMiniType>

/** A message that can never be processed, however often it is retried. */
export class InvalidMessageError extends Error {
  override readonly name = 'InvalidMessageError'
}

export function isTaskEventName(value: unknown): value is TaskEventName {
  return typeof value === 'string' && (TASK_EVENT_NAMES as readonly string[]).includes(value)
}

/** Reads one message off the queue; throws InvalidMessageError for anything off contract. */
export function parseTaskEvent(eventName: unknown, rawBody: string): TaskEvent {
  if (!isTaskEventName(eventName)) {
    throw new InvalidMessageError(`Unknown event attribute: ${JSON.stringify(eventName ?? null)}`)
  }
  let json: unknown
  try {
    json = JSON.parse(rawBody)
  } catch {
    throw new InvalidMessageError(`Body of ${eventName} is not JSON`)
  }
  const parsed = bodySchemas[eventName].safeParse(json)
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`)
    throw new InvalidMessageError(`Body of ${eventName} is off contract: ${problems.join(', ')}`)
  }
  return { event: eventName, body: parsed.data } as TaskEvent
}

/** The task an event is about: the new state for an update. */
export function subjectTask(event: TaskEvent): Task {
  return event.event === 'task_updated' ? event.body.newTask : event.body.task
}

/**
 * The queue refused this message itself (its content, its size): publishing it
 * again unchanged cannot succeed. Any other failure of a publish (unreachable,
 * slow, throttled, misconfigured) may pass.
 */
export class PublishRefusedError extends Error {
  override readonly name = 'PublishRefusedError'
}

/** Where published events go: SQS in production and locally, anything in tests. */
export interface EventPublisher {
  /** Throws PublishRefusedError when the queue refuses the message, anything else when it could not be reached. */
  publish(event: TaskEvent): Promise<void>
}
