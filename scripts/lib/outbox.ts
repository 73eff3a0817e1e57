import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb'
import { type DynamoDBDocumentClient, GetCommand, paginateQuery, UpdateCommand } from '@aws-sdk/lib-dynamodb'
import { eventsUpdate, oldestFirst, outboxIndexKeys, PARKED_INDEX, type TaskItem, toRecord, unchangedSince } from '../../src/lib/adapters/task-item.ts'
import { readOutboxShards } from '../../src/lib/config.ts'
import { eventVersion, retryParked } from '../../src/lib/tasks/outbox.ts'
import type { TaskRecord } from '../../src/lib/tasks/store.ts'
import type { DeployedEnv } from './command-line.ts'
import { deployedStageSetting, deployedTablesTarget, localStageSettings, localTablesTarget } from './tables-target.ts'

/**
 * The operator's side of the outbox: the events the relay parked after SQS kept
 * refusing them, listed and moved back into their task's outbox. The items are
 * read and written as the app's store does (task-item.ts), with the same
 * conditions, so a concurrent write or relay run is never overwritten.
 */
export interface OutboxTarget {
  db: DynamoDBDocumentClient
  table: string
  /** For messages: "the local tables at http://127.0.0.1:5555" or the stack. */
  where: string
  local: boolean
  /** OUTBOX_SHARDS as the app there runs with it: which index keys to read, and which one a retried item goes under. */
  shards: number
}

/** The local `tasks` table of `npm start` (ARC_TABLES_PORT), and its OUTBOX_SHARDS as `npm start` gives it (this environment over `.env`). */
export async function localOutboxTarget(env: NodeJS.ProcessEnv = process.env): Promise<OutboxTarget> {
  const { db, tables, where, local } = await localTablesTarget(['tasks'], env)
  return { db, table: tables.tasks, where, local, shards: readOutboxShards(await localStageSettings(env)) }
}

/**
 * The deployed `tasks` table of a stage, and the stage's OUTBOX_SHARDS where
 * `npx arc env` keeps it: a value set since the last deploy is the larger
 * (the count may only grow), so its shards include every one in use.
 */
export async function deployedOutboxTarget(env: DeployedEnv): Promise<OutboxTarget> {
  const { db, tables, where, local } = await deployedTablesTarget(['tasks'], env)
  try {
    return { db, table: tables.tasks, where, local, shards: readOutboxShards({ OUTBOX_SHARDS: await deployedStageSetting(env, 'OUTBOX_SHARDS') }) }
  } catch (error) {
    db.destroy()
    throw error
  }
}

/** One parked event, as `npm run outbox -- parked` lists it. */
export interface ParkedRow {
  taskId: string
  event: string
  version: number
  refusals: number
  reason: string
  since: string
}

const rowsOf = (record: TaskRecord): ParkedRow[] =>
  record.parked.map((event) => ({ taskId: record.id, event: event.event, version: eventVersion(event), refusals: event.refusals, reason: event.reason, since: event.parkedAt }))

async function read({ db, table }: OutboxTarget, taskId: string): Promise<TaskRecord | undefined> {
  const { Item } = await db.send(new GetCommand({ TableName: table, Key: { id: taskId }, ConsistentRead: true }))
  return Item && toRecord(Item as TaskItem)
}

/** The ids of the tasks with parked events, oldest parking first: every shard of the sparse parkedOutbox index at once, each read to its end. */
async function parkedTaskIds({ db, table, shards }: OutboxTarget): Promise<string[]> {
  const listed = async (shard: string): Promise<Pick<TaskItem, 'id' | 'parkedSince'>[]> => {
    const items: Pick<TaskItem, 'id' | 'parkedSince'>[] = []
    const pages = paginateQuery(
      { client: db },
      {
        TableName: table,
        IndexName: PARKED_INDEX,
        KeyConditionExpression: '#shard = :shard',
        ProjectionExpression: '#id, #since',
        ExpressionAttributeNames: { '#shard': 'outboxParked', '#id': 'id', '#since': 'parkedSince' },
        ExpressionAttributeValues: { ':shard': shard },
      },
    )
    for await (const page of pages) items.push(...((page.Items ?? []) as Pick<TaskItem, 'id' | 'parkedSince'>[]))
    return items
  }
  const parked = (await Promise.all(outboxIndexKeys(shards).map(listed))).flat()
  return oldestFirst(parked, (item) => item.parkedSince).map((item) => item.id)
}

/** The parked events of one task, or of every task. */
export async function listParked(target: OutboxTarget, taskId?: string): Promise<ParkedRow[]> {
  const ids = taskId === undefined ? await parkedTaskIds(target) : [taskId]
  const records = await Promise.all(ids.map((id) => read(target, id)))
  return records.flatMap((record) => (record ? rowsOf(record) : []))
}

/** A write that lost a race with the app is tried again on a fresh read, this often. */
const MAX_ATTEMPTS = 5

/** Moves one task's parked events back into its outbox; returns how many it moved. */
async function retryTask(target: OutboxTarget, taskId: string): Promise<number> {
  for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
    const record = await read(target, taskId)
    if (!record || record.parked.length === 0) return 0
    const update = eventsUpdate(retryParked(record), new Date().toISOString(), { taskId, shards: target.shards })
    const condition = unchangedSince(record)
    try {
      await target.db.send(
        new UpdateCommand({
          TableName: target.table,
          Key: { id: taskId },
          UpdateExpression: update.UpdateExpression,
          ConditionExpression: condition.ConditionExpression,
          ExpressionAttributeNames: { ...update.ExpressionAttributeNames, ...condition.ExpressionAttributeNames },
          ExpressionAttributeValues: { ...update.ExpressionAttributeValues, ...condition.ExpressionAttributeValues },
        }),
      )
      return record.parked.length
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error
    }
  }
  throw new Error(`Task ${taskId} kept changing while its parked events were moved back; try again`)
}

/** Moves the parked events of one task, or of every task, back into their outbox. */
export async function retryParkedEvents(target: OutboxTarget, taskId?: string): Promise<{ tasks: number; events: number }> {
  const ids = taskId === undefined ? await parkedTaskIds(target) : [taskId]
  let tasks = 0
  let events = 0
  // One task after another: the listing is short (parking is rare) and each line of output stays in order.
  for (const id of ids) {
    const moved = await retryTask(target, id)
    if (moved) {
      tasks++
      events += moved
    }
  }
  return { tasks, events }
}

const plural = (count: number, noun: string): string => `${count} ${noun}${count === 1 ? '' : 's'}`

/** The listing as the operator reads it: one line per event, under a header. */
export function formatParked(rows: ParkedRow[]): string {
  if (rows.length === 0) return 'No parked events.'
  const columns: [string, (row: ParkedRow) => string][] = [
    ['TASK', (row) => row.taskId],
    ['EVENT', (row) => row.event],
    ['VERSION', (row) => String(row.version)],
    ['PARKED SINCE', (row) => row.since],
    ['REFUSALS', (row) => String(row.refusals)],
    ['REASON', (row) => row.reason],
  ]
  const widths = columns.map(([title, cell]) => Math.max(title.length, ...rows.map((row) => cell(row).length)))
  const line = (cells: string[]): string => cells.map((cell, index) => (index === cells.length - 1 ? cell : cell.padEnd(widths[index] ?? 0))).join('  ')
  const tasks = new Set(rows.map((row) => row.taskId)).size
  return [line(columns.map(([title]) => title)), ...rows.map((row) => line(columns.map(([, cell]) => cell(row)))), '', `${plural(rows.length, 'parked event')} in ${plural(tasks, 'task')}.`].join('\n')
}
