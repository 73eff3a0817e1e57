import type { ChannelName, DeliveryLog, DeliveryRecord } from '../notifications/delivery-log.ts'
import { appTables } from './tables.ts'

/** Sort key: delivery time first, so a task's deliveries read back oldest first. */
const sortKey = (delivery: DeliveryRecord): string => `${delivery.deliveredAt}#${delivery.notificationId}#${delivery.channel}`

type StoredDelivery = DeliveryRecord & { sk: string }

export class DynamoDeliveryLog implements DeliveryLog {
  async isDelivered(taskId: string, notificationId: string, channel: ChannelName): Promise<boolean> {
    const deliveries = await this.forTask(taskId)
    return deliveries.some((delivery) => delivery.notificationId === notificationId && delivery.channel === channel)
  }

  async record(delivery: DeliveryRecord): Promise<void> {
    const data = await appTables()
    await data.deliveries.put({ ...delivery, sk: sortKey(delivery) })
  }

  async forTask(taskId: string): Promise<DeliveryRecord[]> {
    const data = await appTables()
    const deliveries: DeliveryRecord[] = []
    let startKey: Record<string, unknown> | undefined
    do {
      const page = await data.deliveries.query({
        KeyConditionExpression: 'taskId = :taskId',
        ExpressionAttributeValues: { ':taskId': taskId },
        ScanIndexForward: true,
        ...(startKey && { ExclusiveStartKey: startKey }),
      })
      for (const item of (page.Items ?? []) as unknown as StoredDelivery[]) {
        const { sk: _sortKey, ...delivery } = item
        deliveries.push(delivery)
      }
      startKey = page.LastEvaluatedKey as Record<string, unknown> | undefined
    } while (startKey)
    return deliveries
  }
}
