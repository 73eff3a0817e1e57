import type { OutboxEvent, ParkedEvent, TaskEvents } from '../tasks/outbox.ts'
import type { TaskRecord } from '../tasks/store.ts'
import type { Task } from '../tasks/task.ts'

/**
 * The `tasks` table's item, shared by the app's store and the operator's
 * `npm run outbox` and `npm run migrate-owner`: one item per task, its owner,
 * its outbox and parked events riding in it. `ownerId` keys the `byOwner`
 * index (app.arc @tables-indexes) a caller's list reads. Two sparse indexes
 * list the items with work: `outboxPending`/`outboxSince` are set only while
 * the outbox is not empty (the relay's `pendingOutbox`),
 * `outboxParked`/`parkedSince` only while events are parked (the operator's
 * `parkedOutbox`).
 */
export interface TaskItem extends Partial<Task> {
  id: string
  /** Absent on items written before tasks had owners: no caller sees them until they are given one. */
  ownerId?: string
  version: number
  tombstone?: boolean
  outbox?: OutboxEvent[]
  outboxPending?: 'yes'
  outboxSince?: string
  parked?: ParkedEvent[]
  outboxParked?: 'yes'
  parkedSince?: string
}

export const OWNER_INDEX = 'byOwner'
export const PENDING_INDEX = 'pendingOutbox'
export const PARKED_INDEX = 'parkedOutbox'

type EventAttributes = Pick<TaskItem, 'outbox' | 'outboxPending' | 'outboxSince' | 'parked' | 'outboxParked' | 'parkedSince'>
const EVENT_ATTRIBUTES = ['outbox', 'outboxPending', 'outboxSince', 'parked', 'outboxParked', 'parkedSince'] as const satisfies readonly (keyof EventAttributes)[]

const TASK_FIELDS = ['id', 'title', 'detail', 'dueAt', 'isComplete', 'version', 'createdAt', 'updatedAt'] as const

/** The task as the API shows it: its own fields only, never the owner or the bookkeeping. */
export function toTask(item: TaskItem): Task {
  return Object.fromEntries(TASK_FIELDS.flatMap((field) => (item[field] === undefined ? [] : [[field, item[field]]]))) as unknown as Task
}

export function toRecord(item: TaskItem): TaskRecord {
  return { id: item.id, ownerId: item.ownerId, version: item.version, task: item.tombstone ? undefined : toTask(item), outbox: item.outbox ?? [], parked: item.parked ?? [] }
}

/** The owner attribute of an item written after `record`: the owner is never changed or dropped by a write. */
export const ownerOf = (record: Pick<TaskRecord, 'ownerId'>): Pick<TaskItem, 'ownerId'> => (record.ownerId === undefined ? {} : { ownerId: record.ownerId })

/** The item's event attributes for these events: the index keys only where there is something to list. */
export function eventAttributes(events: TaskEvents, now: string): EventAttributes {
  const first = events.parked[0]
  return {
    ...(events.outbox.length > 0 && { outbox: events.outbox, outboxPending: 'yes', outboxSince: now }),
    ...(first && { parked: events.parked, outboxParked: 'yes', parkedSince: first.parkedAt }),
  }
}

export interface Expression {
  ExpressionAttributeNames: Record<string, string>
  ExpressionAttributeValues: Record<string, unknown>
}

/** An UpdateItem that sets the item's events and leaves the task as it is. */
export function eventsUpdate(events: TaskEvents, now: string): Expression & { UpdateExpression: string } {
  const attributes: Partial<Record<string, unknown>> = eventAttributes(events, now)
  const set = EVENT_ATTRIBUTES.filter((name) => attributes[name] !== undefined)
  const remove = EVENT_ATTRIBUTES.filter((name) => attributes[name] === undefined)
  return {
    UpdateExpression: [set.length ? `SET ${set.map((name) => `#${name} = :${name}`).join(', ')}` : '', remove.length ? `REMOVE ${remove.map((name) => `#${name}`).join(', ')}` : '']
      .filter(Boolean)
      .join(' '),
    ExpressionAttributeNames: Object.fromEntries(EVENT_ATTRIBUTES.map((name) => [`#${name}`, name])),
    ExpressionAttributeValues: Object.fromEntries(set.map((name) => [`:${name}`, attributes[name]])),
  }
}

/**
 * The condition of every write after a read: the item is still as read. The
 * version changes with every task write; the parked events change without it
 * (the relay parks, an operator retries), and their oldest time tells.
 */
export function unchangedSince(record: TaskRecord): Expression & { ConditionExpression: string } {
  const parkedSince = record.parked[0]?.parkedAt
  return {
    ConditionExpression: `#version = :expectedVersion AND ${parkedSince === undefined ? 'attribute_not_exists(#parkedSince)' : '#parkedSince = :expectedParkedSince'}`,
    ExpressionAttributeNames: { '#version': 'version', '#parkedSince': 'parkedSince' },
    ExpressionAttributeValues: { ':expectedVersion': record.version, ...(parkedSince !== undefined && { ':expectedParkedSince': parkedSince }) },
  }
}
