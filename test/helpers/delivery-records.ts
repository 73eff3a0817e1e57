import type { DeliveryRecord } from '../../src/lib/notifications/delivery-log.ts'

/** A delivery record of task `t1`'s update to `version`, as the consumer stores it; no owner for one from before owners. */
export function updateDelivery(ownerId: string | undefined, version: number, channel: DeliveryRecord['channel'] = 'webhook', deliveredAt = '2026-03-01T10:00:00.000Z'): DeliveryRecord {
  return {
    taskId: 't1',
    ...(ownerId !== undefined && { ownerId }),
    notificationId: `task_updated:t1:${version}`,
    event: 'task_updated',
    channel,
    subject: `Task updated: v${version}`,
    status: 'sent',
    messageId: `m${version}`,
    receiveCount: 1,
    deliveredAt,
  }
}
