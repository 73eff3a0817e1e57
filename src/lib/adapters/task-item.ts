import { createHash } from 'node:crypto'
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
 * `parkedOutbox`). Their partition key is the item's outbox shard (see
 * `outboxShard`), so that no one index key takes every task write.
 */
export interface TaskItem extends Partial<Task> {
  id: string
  /** Absent on items written before tasks had owners: no caller sees them until they are given one. */
  ownerId?: string
  version: number
  tombstone?: boolean
  outbox?: OutboxEvent[]
  /** The outbox shard (`outboxShard`), or LEGACY_OUTBOX_KEY on an item written before the indexes were sharded. */
  outboxPending?: string
  outboxSince?: string
  parked?: ParkedEvent[]
  /** As `outboxPending`. */
  outboxParked?: string
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

/**
 * The one value the outbox index keys held before they were sharded: never
 * written any more, still read, so an item written then is still relayed
 * (and listed as parked) without a migration.
 */
export const LEGACY_OUTBOX_KEY = 'yes'

/**
 * The outbox shard of a task: which of `shards` partition keys of the sparse
 * outbox indexes its item is listed under. Every task write sets the key and
 * its publish clears it, two index writes per task write: on one key, one
 * index partition (about 1,000 writes a second) would cap the whole write path
 * near 500 task writes a second, and a GSI that cannot keep up throttles its
 * table. A stable hash of the id (the first 32 bits of its SHA-256, modulo
 * `shards`) spreads tasks evenly whatever their ids look like, and keeps a
 * task on one shard from write to write. A string, as the index declares it
 * (docs/scale.md: sizing, and why the count may only grow).
 */
export function outboxShard(taskId: string, shards: number): string {
  return String(createHash('sha256').update(taskId).digest().readUInt32BE(0) % shards)
}

/** Every partition key an outbox index may list an item under with `shards` shards: each shard, then the legacy key. */
export function outboxIndexKeys(shards: number): string[] {
  return [...Array.from({ length: shards }, (_, shard) => String(shard)), LEGACY_OUTBOX_KEY]
}

/** Items gathered from every key of an outbox index, merged oldest first by the index's sort key (then by id: one stable order). */
export function oldestFirst<Item extends Pick<TaskItem, 'id'>>(items: Item[], since: (item: Item) => string | undefined): Item[] {
  const age = (item: Item): string => `${since(item) ?? ''}#${item.id}`
  return [...items].sort((a, b) => (age(a) < age(b) ? -1 : 1))
}

/** Where an item's events are listed: its id and the shard count the app runs with. */
export interface OutboxPlacement {
  taskId: string
  shards: number
}

/** The item's event attributes for these events: the index keys only where there is something to list. */
export function eventAttributes(events: TaskEvents, now: string, placement: OutboxPlacement): EventAttributes {
  const first = events.parked[0]
  const shard = outboxShard(placement.taskId, placement.shards)
  return {
    ...(events.outbox.length > 0 && { outbox: events.outbox, outboxPending: shard, outboxSince: now }),
    ...(first && { parked: events.parked, outboxParked: shard, parkedSince: first.parkedAt }),
  }
}

export interface Expression {
  ExpressionAttributeNames: Record<string, string>
  ExpressionAttributeValues: Record<string, unknown>
}

/** An UpdateItem that sets the item's events and leaves the task as it is. */
export function eventsUpdate(events: TaskEvents, now: string, placement: OutboxPlacement): Expression & { UpdateExpression: string } {
  const attributes: Partial<Record<string, unknown>> = eventAttributes(events, now, placement)
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
