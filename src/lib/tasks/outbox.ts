import type { TaskEvent } from '../messages/contract.ts'

/**
 * A task's outbox: the events written with it and not yet published, in the
 * order they happened, and the events the queue kept refusing, parked beside
 * it for an operator. Pure rules; where they are stored is the store's business.
 */

/** An event waiting to be published; `refusals` counts the relay's publishes the queue refused. */
export type OutboxEvent = TaskEvent & { refusals?: number }

/** An event taken out of the outbox after MAX_REFUSALS refusals: kept with its task until an operator retries it. */
export type ParkedEvent = TaskEvent & { refusals: number; reason: string; parkedAt: string }

/** What a task's item carries besides the task itself. */
export interface TaskEvents {
  outbox: OutboxEvent[]
  parked: ParkedEvent[]
}

/**
 * Refusals before an event is parked: a refusal of the message itself does not
 * pass with time, but one try more than once rules out a refusal caused by a
 * queue setting being changed at that moment.
 */
export const MAX_REFUSALS = 3

/**
 * Adds a write's event to the outbox, keeping the outbox bounded however many
 * writes pile up while the queue is unreachable (an item holds at most 400 KB):
 * an update that follows a pending update merges into it, from the first
 * `oldTask` to the last `newTask`, so it goes out as the last version's
 * notification. Nothing else merges: a creation or a deletion is always told.
 * With one creation first and one deletion last, an outbox holds at most
 * three events (plus what an operator retried).
 */
export function appendEvent(outbox: readonly OutboxEvent[], event: TaskEvent): OutboxEvent[] {
  const last = outbox.at(-1)
  if (last?.event !== 'task_updated' || event.event !== 'task_updated') return [...outbox, event]
  // An update stored before tasks had owners has none: the newer event's owner stands for both.
  const ownerId = event.body.ownerId ?? last.body.ownerId
  const merged: OutboxEvent = { event: 'task_updated', body: { ...(ownerId !== undefined && { ownerId }), oldTask: last.body.oldTask, newTask: event.body.newTask } }
  // The merged event still carries the old task the queue may have refused: its refusals still count.
  if (last.refusals) merged.refusals = last.refusals
  return [...outbox.slice(0, -1), merged]
}

/** The version a notification of this event carries (its id is `<event>:<taskId>:<version>`). */
export function eventVersion(event: TaskEvent): number {
  return event.event === 'task_updated' ? event.body.newTask.version : event.body.task.version
}

/**
 * The event as it is published: one stored before tasks had owners names
 * none, and takes its task's owner once the task has one (after
 * `npm run migrate-owner`). Without either it goes out without an owner.
 */
export function withOwner<Event extends TaskEvent>(event: Event, ownerId: string | undefined): Event {
  if (event.body.ownerId !== undefined || ownerId === undefined) return event
  return { ...event, body: { ...event.body, ownerId } }
}

/** Parks an event the queue refused for the last time. */
export function park(event: OutboxEvent, refusals: number, reason: string, parkedAt: string): ParkedEvent {
  return { ...withoutBookkeeping(event), refusals, reason, parkedAt }
}

/**
 * An operator's retry: the parked events go back into the outbox with no
 * refusals counted, before what the outbox holds now, since they happened
 * first. They are not merged into it: a retried event is published as it was.
 */
export function retryParked(events: TaskEvents): TaskEvents {
  return { outbox: [...events.parked.map(withoutBookkeeping), ...events.outbox], parked: [] }
}

function withoutBookkeeping(event: OutboxEvent): TaskEvent {
  return { event: event.event, body: event.body } as TaskEvent
}
