import type { ChannelName, DeliveryRecord } from '../notifications/delivery-log.ts'

/**
 * The `deliveries` table's item, shared by the app's delivery log and the
 * operator's `npm run migrate-deliveries`: one item per channel delivery,
 * keyed by `taskId` and `sk` (`<deliveredAt>#<notification id>#<channel>`), so
 * a task's log reads back oldest first. Each item also carries `deliveryKey`,
 * the partition key of the `byNotification` index (app.arc @tables-indexes,
 * keys only), which answers "already delivered?" with one lookup, and
 * `expiresAt` (epoch seconds), the table's TTL attribute.
 */
export type StoredDelivery = DeliveryRecord & { sk: string; deliveryKey: string; expiresAt: number }

export const DELIVERY_INDEX = 'byNotification'

/**
 * One channel's delivery of one notification, whenever it was made. The
 * channel is one of a few names without `#`, so a key names one pair.
 */
export const deliveryKey = (notificationId: string, channel: ChannelName): string => `${notificationId}#${channel}`

/** Sort key: delivery time first, so a task's deliveries read back oldest first. */
const sortKey = (delivery: DeliveryRecord): string => `${delivery.deliveredAt}#${delivery.notificationId}#${delivery.channel}`

/** The item of a delivery, dropped by DynamoDB `retentionSeconds` after it was made. */
export function toStoredDelivery(delivery: DeliveryRecord, retentionSeconds: number): StoredDelivery {
  const expiresAt = Math.floor(Date.parse(delivery.deliveredAt) / 1000) + retentionSeconds
  return { ...delivery, sk: sortKey(delivery), deliveryKey: deliveryKey(delivery.notificationId, delivery.channel), expiresAt }
}

/** The delivery an item holds, without the table's bookkeeping. */
export function toDeliveryRecord(item: StoredDelivery): DeliveryRecord {
  const { sk: _sk, deliveryKey: _key, expiresAt: _expiresAt, ...record } = item
  return record
}
