import type { TaskEventName } from '../messages/contract.ts'
import { cursorPosition, type Listing, toListing } from '../paging.ts'

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
  /**
   * True when this channel's delivery of this notification is already
   * recorded, whoever it was recorded for: one lookup by key, never a read of
   * the task's log, so a task updated thousands of times costs a delivery
   * nothing more.
   */
  isRecorded(taskId: string, notificationId: string, channel: ChannelName): Promise<boolean>
}

/** A record with its place in the task's log, as the log's store names it (a cursor carries it). */
export interface LogEntry {
  record: DeliveryRecord
  position: string
}

/** A task's log read in order, a slice at a time: the reading side of the delivery log. */
export interface DeliveryHistory {
  /**
   * Up to `count` of a task's records after `position` (undefined: from the
   * first), oldest first; `more` when the log may go on after them. A
   * position this log never gave is an InvalidCursorError.
   */
  after(taskId: string, position: string | undefined, count: number): Promise<{ entries: LogEntry[]; more: boolean }>
}

/** A delivery record as its owner reads it: the owner is who asks, so it is not repeated. */
export type DeliveryView = Omit<DeliveryRecord, 'ownerId'>

/**
 * Reading a task's delivery log as a caller, page by page like GET /tasks:
 * only the records stored for that caller. It is decided by the records
 * themselves, not by the task, so it holds after the task is deleted. A
 * task's records all carry the task's owner (the consumer records the
 * message's owner, which is its task's; `npm run migrate-owner` gives a record
 * its task's owner, or its log's), so the first record of another owner says the log is not
 * the caller's: the listing ends there, having read no further, and another
 * caller's task reads as one with no deliveries, which reveals nothing (also
 * through a cursor made for its owner). Records without an owner (from
 * messages that named none) are shown to nobody until `npm run migrate-owner`
 * gives them one; until then a page reads past them.
 */
export class DeliveryQueries {
  readonly #history: DeliveryHistory

  constructor(history: DeliveryHistory) {
    this.#history = history
  }

  async forTask(ownerId: string, taskId: string, limit: number, cursor: string | undefined): Promise<Listing<DeliveryView>> {
    let position = cursorPosition(cursor)
    // One more than asked tells whether another page follows, without an empty last page.
    const found: LogEntry[] = []
    let more = true
    while (more && found.length <= limit) {
      const slice = await this.#history.after(taskId, position, limit + 1 - found.length)
      for (const entry of slice.entries) {
        const owner = entry.record.ownerId
        if (owner === undefined) continue
        if (owner !== ownerId) return toListing({ items: found.map((mine) => mine.record), next: undefined }, asView)
        found.push(entry)
      }
      const last = slice.entries.at(-1)
      // An empty slice ends the reading whatever it says: nothing to read on from.
      more = slice.more && last !== undefined
      position = last?.position
    }
    const page = found.slice(0, limit)
    return toListing({ items: page.map((entry) => entry.record), next: found.length > limit ? page.at(-1)?.position : undefined }, asView)
  }
}

const asView = ({ ownerId: _owner, ...view }: DeliveryRecord): DeliveryView => view
