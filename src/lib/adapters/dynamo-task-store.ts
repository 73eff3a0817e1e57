import { InvalidCursorError } from '../tasks/service.ts'
import type { TaskPage, TaskStore } from '../tasks/store.ts'
import type { Task } from '../tasks/task.ts'
import { appTables, isConditionFailure, isKeyValue } from './tables.ts'

/** Tasks in the `tasks` table, one item per task, written only on the version read before. */
export class DynamoTaskStore implements TaskStore {
  async get(id: string): Promise<Task | undefined> {
    // An id DynamoDB cannot hold as a key is no task's: 404, not a 500 from DynamoDB.
    if (!isKeyValue(id)) return undefined
    const data = await appTables()
    return (await data.tasks.get({ id })) as Task | undefined
  }

  async create(task: Task): Promise<void> {
    const data = await appTables()
    await data._client.PutItem({
      TableName: data.name('tasks'),
      Item: task,
      ConditionExpression: 'attribute_not_exists(id)',
    })
  }

  async replace(task: Task, expectedVersion: number): Promise<boolean> {
    const data = await appTables()
    return this.conditional(() =>
      data._client.PutItem({
        TableName: data.name('tasks'),
        Item: task,
        ConditionExpression: 'version = :expected',
        ExpressionAttributeValues: { ':expected': expectedVersion },
      }),
    )
  }

  async remove(id: string, expectedVersion: number): Promise<boolean> {
    const data = await appTables()
    return this.conditional(() =>
      data._client.DeleteItem({
        TableName: data.name('tasks'),
        Key: { id },
        ConditionExpression: 'version = :expected',
        ExpressionAttributeValues: { ':expected': expectedVersion },
      }),
    )
  }

  async list(limit: number, afterId: string | undefined): Promise<TaskPage> {
    if (afterId !== undefined && !isKeyValue(afterId)) throw new InvalidCursorError()
    const data = await appTables()
    // One item more than asked tells whether another page follows, without an empty last page.
    // aws-lite marshals Key and Item but not ExclusiveStartKey: it goes in DynamoDB's own JSON.
    const result = await data.tasks.scan({
      Limit: limit + 1,
      ...(afterId !== undefined && { ExclusiveStartKey: { id: { S: afterId } } }),
    })
    const items = (result.Items ?? []) as unknown as Task[]
    return { tasks: items.slice(0, limit), more: items.length > limit }
  }

  private async conditional(write: () => Promise<unknown>): Promise<boolean> {
    try {
      await write()
      return true
    } catch (error) {
      if (isConditionFailure(error)) return false
      throw error
    }
  }
}
