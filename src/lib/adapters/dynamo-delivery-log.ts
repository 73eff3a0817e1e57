import type { ChannelName, DeliveryHistory, DeliveryLog, DeliveryRecord, LogEntry } from '../notifications/delivery-log.ts'
import { InvalidCursorError } from '../paging.ts'
import { DELIVERY_INDEX, deliveryKey, type StoredDelivery, toDeliveryRecord, toStoredDelivery } from './delivery-item.ts'
import { appTables, isKeyValue } from './tables.ts'

/** What the log uses of its table: Architect's client of `deliveries` (arc.tables()), or a test's stand-in. */
export interface DeliveriesTable {
  put(item: Record<string, unknown>): Promise<unknown>
  query(params: Record<string, unknown>): Promise<{ Items?: unknown[]; Count?: number; LastEvaluatedKey?: unknown }>
}

const appDeliveries = async (): Promise<DeliveriesTable> => (await appTables()).deliveries

/** The delivery log; only a log made with a retention (the consumer's) writes records. */
export class DynamoDeliveryLog implements DeliveryLog, DeliveryHistory {
  readonly #retentionSeconds: number | undefined
  readonly #table: () => Promise<DeliveriesTable>

  constructor(retentionDays?: number, table: () => Promise<DeliveriesTable> = appDeliveries) {
    this.#retentionSeconds = retentionDays === undefined ? undefined : retentionDays * 24 * 60 * 60
    this.#table = table
  }

  async record(delivery: DeliveryRecord): Promise<void> {
    if (this.#retentionSeconds === undefined) throw new Error('This delivery log was made for reading: it has no retention to write with')
    await (await this.#table()).put({ ...toStoredDelivery(delivery, this.#retentionSeconds) })
  }

  /**
   * A Query of the index for this one key, at most one item: the cost of one
   * small read, whatever the length of the task's log. A GSI is eventually
   * consistent: a record written an instant ago may not be found yet. That
   * is acceptable here: this lookup is only the backstop behind the
   * Powertools idempotency guard (which is strongly consistent), for the rare
   * copy that claims a delivery after the earlier claim expired with a cut-off
   * invocation, and such a claim comes at least that invocation's timeout
   * after its record was written, while an index lags by a fraction of a
   * second (docs/scale.md).
   */
  async isRecorded(taskId: string, notificationId: string, channel: ChannelName): Promise<boolean> {
    const key = deliveryKey(notificationId, channel)
    // The notification id names its task: a pair DynamoDB cannot hold as a key was never recorded.
    if (!isKeyValue(taskId) || !isKeyValue(key)) return false
    const result = await (await this.#table()).query({
      IndexName: DELIVERY_INDEX,
      KeyConditionExpression: '#key = :key',
      ExpressionAttributeNames: { '#key': 'deliveryKey' },
      ExpressionAttributeValues: { ':key': key },
      Select: 'COUNT',
      Limit: 1,
    })
    return (result.Count ?? 0) > 0
  }

  /** The position of a record is its sort key; a page starts after it, with the table key DynamoDB wants. */
  async after(taskId: string, position: string | undefined, count: number): Promise<{ entries: LogEntry[]; more: boolean }> {
    if (position !== undefined && !isKeyValue(position)) throw new InvalidCursorError()
    // An id DynamoDB cannot hold as a key has no deliveries: [], not a 500 from DynamoDB.
    if (!isKeyValue(taskId)) return { entries: [], more: false }
    const result = await (await this.#table()).query({
      KeyConditionExpression: 'taskId = :taskId',
      ExpressionAttributeValues: { ':taskId': taskId },
      ScanIndexForward: true,
      Limit: count,
      // aws-lite marshals Key and Item but not ExclusiveStartKey: it goes in DynamoDB's own JSON.
      ...(position !== undefined && { ExclusiveStartKey: { taskId: { S: taskId }, sk: { S: position } } }),
    })
    const entries = ((result.Items ?? []) as StoredDelivery[]).map((item) => ({ record: toDeliveryRecord(item), position: item.sk }))
    return { entries, more: result.LastEvaluatedKey !== undefined }
  }
}
