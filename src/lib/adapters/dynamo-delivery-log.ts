import type { DeliveryLog, DeliveryRecord } from '../notifications/delivery-log.ts'
import { appTables, isKeyValue } from './tables.ts'

/** Sort key: delivery time first, so a task's deliveries read back oldest first. */
const sortKey = (delivery: DeliveryRecord): string => `${delivery.deliveredAt}#${delivery.notificationId}#${delivery.channel}`

type StoredDelivery = DeliveryRecord & { sk: string }

export class DynamoDeliveryLog implements DeliveryLog {
  async record(delivery: DeliveryRecord): Promise<void> {
    const data = await appTables()
    await data.deliveries.put({ ...delivery, sk: sortKey(delivery) })
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
    return ((result.Items ?? []) as unknown as StoredDelivery[]).map(({ sk: _sortKey, ...delivery }) => delivery)
  }
}
