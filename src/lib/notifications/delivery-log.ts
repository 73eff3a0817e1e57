import type { TaskEventName } from '../messages/contract.ts'

export type ChannelName = 'webhook' | 'email' | 'log'

/** One row of the `deliveries` table: one channel's delivery of one notification. */
export interface DeliveryRecord {
  taskId: string
  /**
   * The task's owner, from the notification: who may read the record, also
   * once the task is gone. Absent on records of messages that named no owner.
   */
  ownerId?: string
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
  /** True when this channel's delivery of this notification is already recorded, whoever it was recorded for. */
  isRecorded(taskId: string, notificationId: string, channel: ChannelName): Promise<boolean>
  /** A task's deliveries, all of them, oldest first; kept after the task is deleted. */
  forTask(taskId: string): Promise<DeliveryRecord[]>
}

/** A delivery record as its owner reads it: the owner is who asks, so it is not repeated. */
export type DeliveryView = Omit<DeliveryRecord, 'ownerId'>

/**
 * Reading a task's delivery log as a caller: only the records stored for that
 * caller. It is decided by the records themselves, not by the task, so it
 * holds after the task is deleted; and a task that is not the caller's reads
 * as one with no deliveries, which reveals nothing. Records without an owner
 * (from messages that named none) are shown to nobody until
 * `npm run migrate-owner` gives them one.
 */
export class DeliveryQueries {
  readonly #log: Pick<DeliveryLog, 'forTask'>

  constructor(log: Pick<DeliveryLog, 'forTask'>) {
    this.#log = log
  }

  async forTask(ownerId: string, taskId: string): Promise<DeliveryView[]> {
    const records = await this.#log.forTask(taskId)
    return records.flatMap(({ ownerId: owner, ...view }) => (owner === ownerId ? [view] : []))
  }
}
