import type { TaskEventName } from '../messages/contract.ts'

export type ChannelName = 'webhook' | 'email' | 'log'

/** One row of the `deliveries` table: one channel's delivery of one notification. */
export interface DeliveryRecord {
  taskId: string
  notificationId: string
  event: TaskEventName
  channel: ChannelName
  subject: string
  status: 'sent'
  messageId: string
  receiveCount: number
  deliveredAt: string
}

export interface DeliveryLog {
  record(delivery: DeliveryRecord): Promise<void>
  /** True when this channel's delivery of this notification is already recorded. */
  isRecorded(taskId: string, notificationId: string, channel: ChannelName): Promise<boolean>
  /** A task's deliveries, oldest first; kept after the task is deleted. */
  forTask(taskId: string): Promise<DeliveryRecord[]>
}
