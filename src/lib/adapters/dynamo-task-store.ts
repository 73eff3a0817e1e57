import { InvalidCursorError, type StoredPage } from '../paging.ts'
import type { OutboxEvent, TaskEvents } from '../tasks/outbox.ts'
import type { TaskRecord, TaskStore } from '../tasks/store.ts'
import type { Task } from '../tasks/task.ts'
import { appTables, isConditionFailure, isKeyValue } from './tables.ts'
import { eventAttributes, eventsUpdate, OWNER_INDEX, ownerOf, PENDING_INDEX, type TaskItem, toRecord, toTask, unchangedSince } from './task-item.ts'

/** Tasks in the `tasks` table, one item per task, its events in the same item (see task-item.ts). */
export class DynamoTaskStore implements TaskStore {
  async get(id: string): Promise<TaskRecord | undefined> {
    // An id DynamoDB cannot hold as a key is no task's: 404, not a 500 from DynamoDB.
    if (!isKeyValue(id)) return undefined
    const data = await appTables()
    const item = (await data.tasks.get({ id })) as TaskItem | undefined
    return item && toRecord(item)
  }

  async create(ownerId: string, task: Task, outbox: OutboxEvent[]): Promise<void> {
    const data = await appTables()
    await data._client.PutItem({
      TableName: data.name('tasks'),
      Item: { ...task, ownerId, ...eventAttributes({ outbox, parked: [] }, now()) } satisfies TaskItem,
      ConditionExpression: 'attribute_not_exists(id)',
    })
  }

  async replace(task: Task, events: TaskEvents, expected: TaskRecord): Promise<boolean> {
    return this.#putIfUnchanged({ ...task, ...ownerOf(expected), ...eventAttributes(events, now()) }, expected)
  }

  async markDeleted(id: string, version: number, events: TaskEvents, expected: TaskRecord): Promise<boolean> {
    // The tombstone keeps the owner: its events are still the owner's to be told of.
    return this.#putIfUnchanged({ id, ...ownerOf(expected), version, tombstone: true, ...eventAttributes(events, now()) }, expected)
  }

  async settleOutbox(record: TaskRecord, events: TaskEvents): Promise<boolean> {
    const data = await appTables()
    const condition = unchangedSince(record)
    const write = { TableName: data.name('tasks'), Key: { id: record.id } }
    if (record.task === undefined && events.outbox.length === 0 && events.parked.length === 0) {
      return this.#conditional(() => data._client.DeleteItem({ ...write, ...condition }))
    }
    const update = eventsUpdate(events, now())
    return this.#conditional(() =>
      data._client.UpdateItem({
        ...write,
        UpdateExpression: update.UpdateExpression,
        ConditionExpression: condition.ConditionExpression,
        ExpressionAttributeNames: { ...update.ExpressionAttributeNames, ...condition.ExpressionAttributeNames },
        ExpressionAttributeValues: { ...update.ExpressionAttributeValues, ...condition.ExpressionAttributeValues },
      }),
    )
  }

  async pending(limit: number): Promise<TaskRecord[]> {
    const data = await appTables()
    const result = await data.tasks.query({
      IndexName: PENDING_INDEX,
      KeyConditionExpression: 'outboxPending = :yes',
      ExpressionAttributeValues: { ':yes': 'yes' },
      Limit: limit,
    })
    // The index may lag the table: read each item itself before publishing it.
    const records = await Promise.all(((result.Items ?? []) as unknown as TaskItem[]).map((item) => this.get(item.id)))
    return records.filter((record): record is TaskRecord => record !== undefined && record.outbox.length > 0)
  }

  async list(ownerId: string, limit: number, afterId: string | undefined): Promise<StoredPage<Task>> {
    if (afterId !== undefined && !isKeyValue(afterId)) throw new InvalidCursorError()
    // No item can be keyed by such an owner, so none is that owner's.
    if (!isKeyValue(ownerId)) return { items: [], next: undefined }
    const data = await appTables()
    const tasks: Task[] = []
    // An index's start key is the index key and the table key; the owner is the caller's, whatever the cursor said.
    let startKey: Record<string, unknown> | undefined = afterId === undefined ? undefined : { ownerId: { S: ownerId }, id: { S: afterId } }
    // The index orders an owner's tasks by id: stable across pages. Tombstones (kept with their
    // owner until their events are out) are filtered out after the limit is applied, so keep
    // reading until a page is full; one item more than asked tells whether another page
    // follows, without an empty last page.
    do {
      const result = await data.tasks.query({
        IndexName: OWNER_INDEX,
        KeyConditionExpression: 'ownerId = :ownerId',
        FilterExpression: 'attribute_not_exists(tombstone)',
        ExpressionAttributeValues: { ':ownerId': ownerId },
        Limit: limit + 1 - tasks.length,
        // aws-lite marshals Key and Item but not ExclusiveStartKey: it goes in DynamoDB's own JSON.
        ...(startKey && { ExclusiveStartKey: startKey }),
      })
      tasks.push(...((result.Items ?? []) as unknown as TaskItem[]).map(toTask))
      startKey = result.LastEvaluatedKey as Record<string, unknown> | undefined
    } while (startKey && tasks.length <= limit)
    const page = tasks.slice(0, limit)
    return { items: page, next: tasks.length > limit ? page.at(-1)?.id : undefined }
  }

  async #putIfUnchanged(item: TaskItem, expected: TaskRecord): Promise<boolean> {
    const data = await appTables()
    return this.#conditional(() => data._client.PutItem({ TableName: data.name('tasks'), Item: item, ...unchangedSince(expected) }))
  }

  async #conditional(write: () => Promise<unknown>): Promise<boolean> {
    try {
      await write()
      return true
    } catch (error) {
      if (isConditionFailure(error)) return false
      throw error
    }
  }
}

const now = (): string => new Date().toISOString()
