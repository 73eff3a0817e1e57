import test from 'tape'
import { DELIVERY_INDEX } from '../../src/lib/adapters/delivery-item.ts'
import { type DeliveriesTable, DynamoDeliveryLog } from '../../src/lib/adapters/dynamo-delivery-log.ts'
import type { DeliveryRecord } from '../../src/lib/notifications/delivery-log.ts'
import { InvalidCursorError } from '../../src/lib/paging.ts'
import { updateDelivery } from '../helpers/delivery-records.ts'

/**
 * The DynamoDB delivery log's calls, against a stand-in of its table: what it
 * writes, that "already delivered?" is one lookup of one key in the index
 * (never a read of the task's log), and how it reads a log a slice at a time.
 */

/** Answers each query with the next of `answers` (the last one repeats), and keeps every call. */
class RecordingTable implements DeliveriesTable {
  readonly puts: Record<string, unknown>[] = []
  readonly queries: Record<string, unknown>[] = []
  answers: { Items?: unknown[]; Count?: number; LastEvaluatedKey?: unknown }[] = [{ Items: [], Count: 0 }]

  async put(item: Record<string, unknown>): Promise<unknown> {
    this.puts.push(item)
    return item
  }
  async query(params: Record<string, unknown>): Promise<{ Items?: unknown[]; Count?: number; LastEvaluatedKey?: unknown }> {
    this.queries.push(params)
    return this.answers.length > 1 ? this.answers.shift()! : this.answers[0]!
  }
}

const AT = '2026-03-01T10:00:00.000Z'
const delivery = (version: number, channel: DeliveryRecord['channel'] = 'webhook'): DeliveryRecord => updateDelivery('alice', version, channel, AT)

function setup(retentionDays?: number) {
  const table = new RecordingTable()
  return { table, log: new DynamoDeliveryLog(retentionDays, async () => table) }
}

test('a record carries its sort key, its lookup key and its expiry beside the delivery', async (t) => {
  const { table, log } = setup(90)
  await log.record(delivery(7, 'email'))
  t.deepEqual(table.puts, [
    {
      ...delivery(7, 'email'),
      sk: `${AT}#task_updated:t1:7#email`,
      deliveryKey: 'task_updated:t1:7#email',
      expiresAt: Date.parse(AT) / 1000 + 90 * 24 * 60 * 60,
    },
  ])
  const reader = setup()
  await reader.log.record(delivery(1)).then(
    () => t.fail('a log made for reading wrote'),
    (error: Error) => t.match(error.message, /made for reading/, 'a log made for reading does not write'),
  )
})

test('"already delivered?" is one Query of the index for exactly that key, at most one item: never the task\'s log', async (t) => {
  const { table, log } = setup(90)
  table.answers = [{ Count: 1 }]
  t.equal(await log.isRecorded('t1', 'task_updated:t1:7', 'webhook'), true, 'found: recorded')
  t.deepEqual(table.queries, [
    {
      IndexName: DELIVERY_INDEX,
      KeyConditionExpression: '#key = :key',
      ExpressionAttributeNames: { '#key': 'deliveryKey' },
      ExpressionAttributeValues: { ':key': 'task_updated:t1:7#webhook' },
      Select: 'COUNT',
      Limit: 1,
    },
  ], 'one call, on the byNotification index, for the key of that notification and channel')
  t.equal(DELIVERY_INDEX, 'byNotification')

  table.queries.length = 0
  table.answers = [{ Count: 0 }]
  t.equal(await log.isRecorded('t1', 'task_updated:t1:8', 'email'), false, 'not found: not recorded')
  t.equal(table.queries.length, 1, 'again one call')
  t.equal(table.queries[0]?.IndexName, DELIVERY_INDEX, 'on the index, not the table (whose partition is the whole log)')
  t.deepEqual(table.queries[0]?.ExpressionAttributeValues, { ':key': 'task_updated:t1:8#email' })

  table.queries.length = 0
  t.equal(await log.isRecorded('t'.repeat(3000), `task_created:${'t'.repeat(3000)}:1`, 'log'), false, 'a key DynamoDB cannot hold was never recorded')
  t.equal(table.queries.length, 0, 'and is not asked for')
})

test('a log is read a slice at a time from a position: the sort key, the table key to start after', async (t) => {
  const { table, log } = setup()
  const stored = (version: number) => ({ ...delivery(version), sk: `${AT}#task_updated:t1:${version}#webhook`, deliveryKey: `task_updated:t1:${version}#webhook`, expiresAt: 1 })
  table.answers = [{ Items: [stored(1), stored(2)], LastEvaluatedKey: { taskId: { S: 't1' }, sk: { S: stored(2).sk } } }, { Items: [stored(3)] }]
  const first = await log.after('t1', undefined, 2)
  t.deepEqual(first, { entries: [{ record: delivery(1), position: stored(1).sk }, { record: delivery(2), position: stored(2).sk }], more: true }, 'records as the domain knows them, each with its position')
  const second = await log.after('t1', stored(2).sk, 2)
  t.deepEqual(second, { entries: [{ record: delivery(3), position: stored(3).sk }], more: false }, 'the end of the log')
  t.deepEqual(table.queries, [
    { KeyConditionExpression: 'taskId = :taskId', ExpressionAttributeValues: { ':taskId': 't1' }, ScanIndexForward: true, Limit: 2 },
    {
      KeyConditionExpression: 'taskId = :taskId',
      ExpressionAttributeValues: { ':taskId': 't1' },
      ScanIndexForward: true,
      Limit: 2,
      ExclusiveStartKey: { taskId: { S: 't1' }, sk: { S: stored(2).sk } },
    },
  ], 'oldest first, as many as asked, after the position (in DynamoDB JSON: aws-lite does not marshal a start key)')

  table.queries.length = 0
  t.deepEqual(await log.after('x'.repeat(3000), undefined, 2), { entries: [], more: false }, 'an id no key can hold: no records')
  await log.after('t1', 'x'.repeat(3000), 2).then(
    () => t.fail('an impossible position was read'),
    (error: unknown) => t.ok(error instanceof InvalidCursorError, 'an impossible position is a bad cursor'),
  )
  t.equal(table.queries.length, 0, 'neither is asked for')
})
