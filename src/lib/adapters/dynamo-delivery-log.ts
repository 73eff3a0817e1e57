import type { ChannelName, DeliveryLog, DeliveryRecord } from '../notifications/delivery-log.ts'
import { appTables, isKeyValue } from './tables.ts'

/** Sort key: delivery time first, so a task's deliveries read back oldest first. */
const sortKey = (delivery: DeliveryRecord): string => `${delivery.deliveredAt}#${delivery.notificationId}#${delivery.channel}`

/** `expiresAt` (epoch seconds) is the table's TTL attribute: DynamoDB drops the row after the retention. */
type StoredDelivery = DeliveryRecord & { sk: string; expiresAt: number }

/** The delivery log; only a log made with a retention (the consumer's) writes records. */
export class DynamoDeliveryLog implements DeliveryLog {
  readonly #retentionSeconds: number | undefined

  constructor(retentionDays?: number) {
    this.#retentionSeconds = retentionDays === undefined ? undefined : retentionDays * 24 * 60 * 60
  }

  async record(delivery: DeliveryRecord): Promise<void> {
    if (this.#retentionSeconds === undefined) throw new Error('This delivery log was made for reading: it has no retention to write with')
    const data = await appTables()
    const expiresAt = Math.floor(Date.parse(delivery.deliveredAt) / 1000) + this.#retentionSeconds
    await data.deliveries.put({ ...delivery, sk: sortKey(delivery), expiresAt } satisfies StoredDelivery)
  }

  async isRecorded(taskId: string, notificationId: string, channel: ChannelName): Promise<boolean> {
    return (await this.forTask(taskId)).some((delivery) => delivery.notificationId === notificationId && delivery.channel === channel)
  }

  async forTask(taskId: string): Promise<DeliveryRecord[]> {
    // An id DynamoDB cannot hold as a key has no deliveries: [], not a 500 from DynamoDB.
    if (!isKeyValue(taskId)) return []
    const data = await appTables()
    const result = await data.deliveries.query({
      KeyConditionExpression: 'taskId = :taskId',
      ExpressionAttributeValues: { ':taskId': taskId },
      ScanIndexForward: true,
      paginate: true,
    })
    return ((result.Items ?? []) as unknown as StoredDelivery[]).map(({ sk: _sortKey, expiresAt: _expiresAt, ...delivery }) => delivery)
  }
}
