import { InvalidCursorError, type StoredPage } from '../paging.ts'
import type { OutboxEvent, TaskEvents } from '../tasks/outbox.ts'
import type { TaskRecord, TaskStore } from '../tasks/store.ts'
import type { Task } from '../tasks/task.ts'
import { appTables, conditionalWrite, isKeyValue } from './tables.ts'
import { eventAttributes, eventsUpdate, oldestFirst, type OutboxPlacement, outboxIndexKeys, OWNER_INDEX, ownerOf, PENDING_INDEX, type TaskItem, toRecord, toTask, unchangedSince } from './task-item.ts'

/** Tasks in the `tasks` table, one item per task, its events in the same item (see task-item.ts). */
export class DynamoTaskStore implements TaskStore {
  readonly #outboxShards: number | undefined

  /** `outboxShards` (OUTBOX_SHARDS) places the outbox in its indexes: the writers and the relay need it, the read routes do not. */
  constructor(outboxShards?: number) {
    this.#outboxShards = outboxShards
  }

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
      Item: { ...task, ownerId, ...eventAttributes({ outbox, parked: [] }, now(), this.#placement(task.id)) } satisfies TaskItem,
      ConditionExpression: 'attribute_not_exists(id)',
    })
  }

  async replace(task: Task, events: TaskEvents, expected: TaskRecord): Promise<boolean> {
    return this.#putIfUnchanged({ ...task, ...ownerOf(expected), ...eventAttributes(events, now(), this.#placement(task.id)) }, expected)
  }

  async markDeleted(id: string, version: number, events: TaskEvents, expected: TaskRecord): Promise<boolean> {
    // The tombstone keeps the owner: its events are still the owner's to be told of.
    return this.#putIfUnchanged({ id, ...ownerOf(expected), version, tombstone: true, ...eventAttributes(events, now(), this.#placement(id)) }, expected)
  }

  async settleOutbox(record: TaskRecord, events: TaskEvents): Promise<boolean> {
    const data = await appTables()
    const condition = unchangedSince(record)
    const write = { TableName: data.name('tasks'), Key: { id: record.id } }
    if (record.task === undefined && events.outbox.length === 0 && events.parked.length === 0) {
      return conditionalWrite(() => data._client.DeleteItem({ ...write, ...condition }))
    }
    const update = eventsUpdate(events, now(), this.#placement(record.id))
    return conditionalWrite(() =>
      data._client.UpdateItem({
        ...write,
        UpdateExpression: update.UpdateExpression,
        ConditionExpression: condition.ConditionExpression,
        ExpressionAttributeNames: { ...update.ExpressionAttributeNames, ...condition.ExpressionAttributeNames },
        ExpressionAttributeValues: { ...update.ExpressionAttributeValues, ...condition.ExpressionAttributeValues },
      }),
    )
  }

  /**
   * Every shard of the pending index (and the legacy key) is queried at once,
   * each for its `limit` oldest, page after page: together they hold the
   * `limit` oldest of all, which are merged by age.
   */
  async pending(limit: number): Promise<TaskRecord[]> {
    const data = await appTables()
    const oldestOf = async (shard: string): Promise<Pick<TaskItem, 'id' | 'outboxSince'>[]> => {
      const found: Pick<TaskItem, 'id' | 'outboxSince'>[] = []
      let startKey: Record<string, unknown> | undefined
      do {
        const result = await data.tasks.query({
          IndexName: PENDING_INDEX,
          KeyConditionExpression: '#shard = :shard',
          ProjectionExpression: '#id, #since',
          ExpressionAttributeNames: { '#shard': 'outboxPending', '#id': 'id', '#since': 'outboxSince' },
          ExpressionAttributeValues: { ':shard': shard },
          Limit: limit - found.length,
          ...(startKey && { ExclusiveStartKey: startKey }),
        })
        found.push(...((result.Items ?? []) as unknown as Pick<TaskItem, 'id' | 'outboxSince'>[]))
        startKey = result.LastEvaluatedKey as Record<string, unknown> | undefined
      } while (startKey && found.length < limit)
      return found
    }
    const listed = (await Promise.all(outboxIndexKeys(this.#shards()).map(oldestOf))).flat()
    const oldest = oldestFirst(listed, (item) => item.outboxSince).slice(0, limit)
    // The index may lag the table: read each item itself before publishing it.
    const records = await Promise.all(oldest.map((item) => this.get(item.id)))
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

  #shards(): number {
    if (this.#outboxShards === undefined) throw new Error('This task store was made for reading: it has no outbox shard count to write or relay with')
    return this.#outboxShards
  }

  #placement(taskId: string): OutboxPlacement {
    return { taskId, shards: this.#shards() }
  }

  async #putIfUnchanged(item: TaskItem, expected: TaskRecord): Promise<boolean> {
    const data = await appTables()
    return conditionalWrite(() => data._client.PutItem({ TableName: data.name('tasks'), Item: item, ...unchangedSince(expected) }))
  }
}

const now = (): string => new Date().toISOString()
