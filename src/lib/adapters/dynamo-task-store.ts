import type { TaskEvent } from '../messages/contract.ts'
import { InvalidCursorError } from '../tasks/service.ts'
import type { TaskPage, TaskRecord, TaskStore } from '../tasks/store.ts'
import type { Task } from '../tasks/task.ts'
import { appTables, isConditionFailure, isKeyValue } from './tables.ts'

/**
 * Tasks in the `tasks` table, one item per task. The outbox rides in the same
 * item; `outboxPending`/`outboxSince` are set only while it is not empty, so the
 * sparse `pendingOutbox` index lists exactly the items the relay must publish.
 */
interface TaskItem extends Partial<Task> {
  id: string
  version: number
  tombstone?: boolean
  outbox?: TaskEvent[]
  outboxPending?: 'yes'
  outboxSince?: string
}

const TASK_FIELDS = ['id', 'title', 'detail', 'dueAt', 'isComplete', 'version', 'createdAt', 'updatedAt'] as const

function toTask(item: TaskItem): Task {
  return Object.fromEntries(TASK_FIELDS.flatMap((field) => (item[field] === undefined ? [] : [[field, item[field]]]))) as unknown as Task
}

function toRecord(item: TaskItem): TaskRecord {
  return { id: item.id, version: item.version, task: item.tombstone ? undefined : toTask(item), outbox: item.outbox ?? [] }
}

function withOutbox(item: TaskItem, outbox: TaskEvent[]): TaskItem {
  return outbox.length ? { ...item, outbox, outboxPending: 'yes', outboxSince: new Date().toISOString() } : item
}

export class DynamoTaskStore implements TaskStore {
  async get(id: string): Promise<TaskRecord | undefined> {
    // An id DynamoDB cannot hold as a key is no task's: 404, not a 500 from DynamoDB.
    if (!isKeyValue(id)) return undefined
    const data = await appTables()
    const item = (await data.tasks.get({ id })) as TaskItem | undefined
    return item && toRecord(item)
  }

  async create(task: Task, outbox: TaskEvent[]): Promise<void> {
    const data = await appTables()
    await data._client.PutItem({
      TableName: data.name('tasks'),
      Item: withOutbox({ ...task }, outbox),
      ConditionExpression: 'attribute_not_exists(id)',
    })
  }

  async replace(task: Task, outbox: TaskEvent[], expectedVersion: number): Promise<boolean> {
    return this.#putIfVersion(withOutbox({ ...task }, outbox), expectedVersion)
  }

  async markDeleted(id: string, version: number, outbox: TaskEvent[], expectedVersion: number): Promise<boolean> {
    return this.#putIfVersion(withOutbox({ id, version, tombstone: true }, outbox), expectedVersion)
  }

  async clearOutbox(record: TaskRecord): Promise<void> {
    const data = await appTables()
    const write = { TableName: data.name('tasks'), Key: { id: record.id }, ConditionExpression: 'version = :version', ExpressionAttributeValues: { ':version': record.version } }
    await this.#conditional(() =>
      record.task === undefined
        ? data._client.DeleteItem(write)
        : data._client.UpdateItem({ ...write, UpdateExpression: 'REMOVE outbox, outboxPending, outboxSince' }),
    )
  }

  async pending(limit: number): Promise<TaskRecord[]> {
    const data = await appTables()
    const result = await data.tasks.query({
      IndexName: 'pendingOutbox',
      KeyConditionExpression: 'outboxPending = :yes',
      ExpressionAttributeValues: { ':yes': 'yes' },
      Limit: limit,
    })
    // The index may lag the table: read each item itself before publishing it.
    const records = await Promise.all(((result.Items ?? []) as unknown as TaskItem[]).map((item) => this.get(item.id)))
    return records.filter((record): record is TaskRecord => record !== undefined && record.outbox.length > 0)
  }

  async list(limit: number, afterId: string | undefined): Promise<TaskPage> {
    if (afterId !== undefined && !isKeyValue(afterId)) throw new InvalidCursorError()
    const data = await appTables()
    const tasks: Task[] = []
    let startKey: Record<string, unknown> | undefined = afterId === undefined ? undefined : { id: { S: afterId } }
    // Tombstones are filtered out after the limit is applied, so keep reading until a page is full;
    // one item more than asked tells whether another page follows, without an empty last page.
    do {
      const result = await data.tasks.scan({
        Limit: limit + 1 - tasks.length,
        FilterExpression: 'attribute_not_exists(tombstone)',
        // aws-lite marshals Key and Item but not ExclusiveStartKey: it goes in DynamoDB's own JSON.
        ...(startKey && { ExclusiveStartKey: startKey }),
      })
      tasks.push(...((result.Items ?? []) as unknown as TaskItem[]).map(toTask))
      startKey = result.LastEvaluatedKey as Record<string, unknown> | undefined
    } while (startKey && tasks.length <= limit)
    return { tasks: tasks.slice(0, limit), more: tasks.length > limit }
  }

  async #putIfVersion(item: TaskItem, expectedVersion: number): Promise<boolean> {
    const data = await appTables()
    return this.#conditional(() =>
      data._client.PutItem({
        TableName: data.name('tasks'),
        Item: item,
        ConditionExpression: 'version = :expected',
        ExpressionAttributeValues: { ':expected': expectedVersion },
      }),
    )
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
