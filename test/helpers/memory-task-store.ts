import type { StoredPage } from '../../src/lib/paging.ts'
import type { OutboxEvent, TaskEvents } from '../../src/lib/tasks/outbox.ts'
import type { TaskRecord, TaskStore } from '../../src/lib/tasks/store.ts'
import type { Task } from '../../src/lib/tasks/task.ts'

/**
 * The store's contract in memory, with its conditions (version and parked
 * events as read) and its listing (one owner's tasks by id, tombstones left out).
 */
export class MemoryTaskStore implements TaskStore {
  readonly items = new Map<string, TaskRecord & { since: number }>()
  #clock = 0

  async get(id: string): Promise<TaskRecord | undefined> {
    const item = this.items.get(id)
    return item && structuredClone({ id: item.id, ownerId: item.ownerId, version: item.version, task: item.task, outbox: item.outbox, parked: item.parked })
  }
  async create(ownerId: string, created: Task, outbox: OutboxEvent[]): Promise<void> {
    this.items.set(created.id, { id: created.id, ownerId, version: created.version, task: created, outbox, parked: [], since: ++this.#clock })
  }
  async replace(next: Task, events: TaskEvents, expected: TaskRecord): Promise<boolean> {
    return this.#write(expected, { id: next.id, ownerId: expected.ownerId, version: next.version, task: next, ...events })
  }
  async markDeleted(id: string, version: number, events: TaskEvents, expected: TaskRecord): Promise<boolean> {
    return this.#write(expected, { id, ownerId: expected.ownerId, version, task: undefined, ...events })
  }
  async settleOutbox(record: TaskRecord, events: TaskEvents): Promise<boolean> {
    if (record.task === undefined && events.outbox.length === 0 && events.parked.length === 0) {
      if (!this.#unchanged(record)) return false
      this.items.delete(record.id)
      return true
    }
    return this.#write(record, { ...record, ...events })
  }
  async pending(limit: number): Promise<TaskRecord[]> {
    const found = [...this.items.values()].filter((item) => item.outbox.length > 0).sort((a, b) => a.since - b.since)
    return Promise.all(found.slice(0, limit).map(async (item) => (await this.get(item.id))!))
  }
  async list(ownerId: string, limit: number, afterId: string | undefined): Promise<StoredPage<Task>> {
    const tasks = [...this.items.values()]
      .filter((item) => item.ownerId === ownerId && (afterId === undefined || item.id > afterId))
      .flatMap((item) => (item.task ? [structuredClone(item.task)] : []))
      .sort((a, b) => (a.id < b.id ? -1 : 1))
    const page = tasks.slice(0, limit)
    return { items: page, next: tasks.length > limit ? page.at(-1)?.id : undefined }
  }
  /** An item as a version without owners left it: written directly, as no service call can. */
  putLegacy(record: Omit<TaskRecord, 'ownerId'>): void {
    this.items.set(record.id, { ...structuredClone(record), ownerId: undefined, since: ++this.#clock })
  }
  #unchanged(expected: TaskRecord): boolean {
    const current = this.items.get(expected.id)
    return current !== undefined && current.version === expected.version && current.parked[0]?.parkedAt === expected.parked[0]?.parkedAt
  }
  #write(expected: TaskRecord, record: TaskRecord): boolean {
    if (!this.#unchanged(expected)) return false
    this.items.set(record.id, { ...structuredClone(record), since: ++this.#clock })
    return true
  }
}
