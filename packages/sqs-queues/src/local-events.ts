import type { EmfRecord } from './emf.ts'

/**
 * What the local queues do, as events inside the sandbox's own process: each
 * batch the event source mapping runs, the records it expects to move to the
 * DLQ, each line a consumer prints, and each change of the mapping's State. A local tool (this app's dashboard)
 * subscribes; this plugin knows nothing of who listens, and works the same
 * when nobody does.
 */
export interface BatchStarted {
  type: 'batch-started'
  queue: string
  /** The mapping's batch number, as its log lines count them. */
  batch: number
  poller: number
  size: number
  /** Consumer invocations under way for this queue, this one included. */
  inFlight: number
  at: number
}

export interface BatchFinished {
  type: 'batch-finished'
  queue: string
  batch: number
  poller: number
  size: number
  /** Records deleted from the queue (done). */
  deleted: number
  /** Records left in the queue: reported failures, or the whole batch when the invocation failed. */
  failed: number
  /** Why nothing was deleted: the consumer threw, timed out or reported ids outside its batch. */
  error?: string
  durationMs: number
  /** Consumer invocations still under way for this queue. */
  inFlight: number
  at: number
}

export interface DeadLettered {
  type: 'dead-lettered'
  queue: string
  dlq: string
  /** Records that failed their last receive: the queue's redrive policy moves them to the DLQ. */
  messageIds: string[]
  at: number
}

export interface ConsumerOutput {
  type: 'output'
  /** The function's label, e.g. `@queues notifications`. */
  function: string
  stream: 'stdout' | 'stderr'
  line: string
  /** The metrics of an EMF line; absent for every other line. */
  emf?: EmfRecord
  at: number
}

/** Lambda's State of an event source mapping, as GetEventSourceMapping answers it. */
export type MappingState = 'Enabled' | 'Disabling' | 'Disabled'

/**
 * The queue's event source mapping changed State (UpdateEventSourceMapping
 * through the local Lambda API): Disabling while the batches under way
 * finish, Disabled once none is, Enabled when its pollers receive again.
 */
export interface MappingStateChanged {
  type: 'mapping-state'
  queue: string
  /** The mapping's UUID, as the local Lambda API names it. */
  uuid: string
  state: MappingState
  /** What the last UpdateEventSourceMapping asked for. */
  enabled: boolean
  at: number
}

export type LocalQueueEvent = BatchStarted | BatchFinished | DeadLettered | ConsumerOutput | MappingStateChanged
export type LocalQueueListener = (event: LocalQueueEvent) => void

/** Says whether a consumer's output line is one a listener shows better than the terminal does. */
export type HeldBackLine = (line: string) => boolean

export class LocalQueueEvents {
  readonly #listeners = new Set<LocalQueueListener>()
  readonly #heldBack = new Set<HeldBackLine>()

  /** Calls `listener` with every event from now on; returns what stops it. */
  subscribe(listener: LocalQueueListener): () => void {
    this.#listeners.add(listener)
    return () => {
      this.#listeners.delete(listener)
    }
  }

  /**
   * Keeps the consumer lines `isShownElsewhere` picks off the terminal while it
   * is registered (they still reach the listeners): a dashboard that lists each
   * delivery registers its delivery lines, so the terminal keeps one line per
   * batch and per problem. Returns what unregisters it.
   */
  holdBack(isShownElsewhere: HeldBackLine): () => void {
    this.#heldBack.add(isShownElsewhere)
    return () => {
      this.#heldBack.delete(isShownElsewhere)
    }
  }

  /** Whether a registered listener shows this line instead of the terminal. */
  heldBack(line: string): boolean {
    for (const isShownElsewhere of this.#heldBack) if (isShownElsewhere(line)) return true
    return false
  }

  /** Whether anyone listens: an emitter may skip work nobody would see. */
  get listened(): boolean {
    return this.#listeners.size > 0
  }

  emit(event: LocalQueueEvent): void {
    for (const listener of this.#listeners) {
      // A listener's bug must not stop the queue it watches.
      try {
        listener(event)
      } catch (error) {
        console.warn(`[queues] a local event listener failed: ${error instanceof Error ? error.message : String(error)}`)
      }
    }
  }
}

/**
 * The one event source of the process. Kept on globalThis so that two copies of
 * this module (one imported by path from another plugin, say) still share it.
 */
const KEY = Symbol.for('architect.sqs-queues.local-events')
const holder = globalThis as { [KEY]?: LocalQueueEvents }
export const localQueueEvents: LocalQueueEvents = (holder[KEY] ??= new LocalQueueEvents())
