import { METRIC } from '../../../lib/adapters/powertools-metrics.ts'
import type { BreakerStatus, LevelingStatus } from '../../../lib/leveling/operator.ts'
import type { PausedBy } from '../../../lib/leveling/reconcile.ts'
import type { EmfRecord } from 'arc-plugin-sqs-queues/emf'
import type { BatchFinished, LocalQueueEvent, LocalQueueEvents } from 'arc-plugin-sqs-queues/local-events'
import type { QueueSettings } from 'arc-plugin-sqs-queues/settings'

/**
 * What the dashboard shows, gathered from the local queue's events: the
 * consumer's batches and invocations in flight, its EMF delivery metrics and
 * its delivery log lines, and its event source mapping's State. Queue depths
 * and the breakers are not events: the server polls them and hands them in
 * with `setDepths` and `setLeveling`.
 */

/** How far back "per second" looks: one batch's metrics arrive in one line, so a wider window reads steadier. */
export const RATE_WINDOW_MS = 5_000
/** How far back the latency percentiles look. */
export const LATENCY_WINDOW_MS = 60_000
const KEEP_LATEST = 10

export interface Depth {
  waiting: number
  inFlight: number
}

/** One finished batch, as the page lists it. */
export type BatchSummary = Omit<BatchFinished, 'type' | 'queue' | 'inFlight'>

export interface DeliverySummary {
  at: string
  notificationId: string
  taskId: string
  channel: string
  receiveCount: number
}

export interface ProblemSummary {
  at: string
  message: string
  notificationId?: string
  detail: string
}

interface Counted {
  at: number
  channel: string
  delivered: number
  failed: number
}

export interface ChannelFigures {
  total: number
  failed: number
  perSecond: number
  failedPerSecond: number
}

export interface StateSnapshot {
  at: number
  queue: Depth & { name: string }
  dlq: Depth & { name: string; movedIn: number }
  consumer: {
    /** Its event source mapping receives nothing (Disabling or Disabled). */
    paused: boolean
    /** Who holds it paused (the breakers table); null: no one, so a paused mapping is resuming. */
    pausedBy: PausedBy
    inFlight: number
    maxConcurrency: number
    batchSize: number
    batchWindow: number
    maxReceiveCount: number
    /** The most invocations ever seen in flight at once. */
    maxInFlightSeen: number
    batches: number
    batchesFailed: number
    recordsFailed: number
    latestBatches: BatchSummary[]
  }
  /** Each channel's breaker, as the breakers table holds it. */
  breakers: Record<string, BreakerStatus>
  deliveries: {
    total: number
    perSecond: number
    failed: number
    failedPerSecond: number
    retries: number
    invalidMessages: number
    byChannel: Record<string, ChannelFigures>
    latency: { p50: number | null; p95: number | null; samples: number; windowSeconds: number }
    latest: DeliverySummary[]
    problems: ProblemSummary[]
  }
}

/**
 * The message of the consumer's log line for each delivery (src/lib/notifications/notifier.ts).
 * Not imported from there: that would load the consumer's logger and message
 * contract into the sandbox's own process.
 */
const DELIVERED_LOG_MESSAGE = 'Delivered'

/** A consumer's `Delivered` log line (Powertools writes `level` first, then `message`). */
export function isDeliveryLine(line: string): boolean {
  return line.startsWith(`{"level":"INFO","message":${JSON.stringify(DELIVERED_LOG_MESSAGE)},`)
}

/** The value at quantile `q` (0..1) of sorted values, nearest rank. */
export function quantile(sorted: readonly number[], q: number): number | null {
  if (!sorted.length) return null
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] ?? null
}

const text = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined)

export class DashboardState {
  readonly #queue: QueueSettings
  readonly #function: string
  readonly #now: () => number
  #unsubscribe: (() => void) | undefined
  #queueDepth: Depth = { waiting: 0, inFlight: 0 }
  #dlqDepth: Depth = { waiting: 0, inFlight: 0 }
  #leveling: Pick<LevelingStatus, 'pausedBy' | 'breakers'> = { pausedBy: null, breakers: {} as LevelingStatus['breakers'] }
  /** The sandbox starts every mapping enabled; each change comes as a 'mapping-state' event, and each poll says it too. */
  #mappingState = 'Enabled'
  #movedIn = 0
  #inFlight = 0
  #maxInFlightSeen = 0
  #batches = 0
  #batchesFailed = 0
  #recordsFailed = 0
  readonly #latestBatches: BatchSummary[] = []
  #counted: Counted[] = []
  readonly #totals = new Map<string, { delivered: number; failed: number }>()
  #retries = 0
  #invalid = 0
  #latencies: { at: number; ms: number }[] = []
  readonly #latest: DeliverySummary[] = []
  readonly #problems: ProblemSummary[] = []

  constructor(queue: QueueSettings, now: () => number = Date.now) {
    this.#queue = queue
    // How the sqs-queues plugin labels the queue's consumer (its output events carry it).
    this.#function = `@queues ${queue.name}`
    this.#now = now
  }

  /** Follows `events`; the consumer's delivery lines then go to the page's latest deliveries instead of the terminal. */
  subscribe(events: LocalQueueEvents): void {
    const unsubscribe = events.subscribe((event) => this.handle(event))
    const release = events.holdBack(isDeliveryLine)
    this.#unsubscribe = () => {
      unsubscribe()
      release()
    }
  }

  close(): void {
    this.#unsubscribe?.()
    this.#unsubscribe = undefined
  }

  setDepths(queue: Depth, dlq: Depth): void {
    this.#queueDepth = queue
    this.#dlqDepth = dlq
  }

  /** The breakers and who holds the consumer (read from the breakers table), and the mapping's State (the Lambda API). */
  setLeveling(status: LevelingStatus, mappingState: string): void {
    this.#leveling = { pausedBy: status.pausedBy, breakers: status.breakers }
    this.#mappingState = mappingState
  }

  handle(event: LocalQueueEvent): void {
    switch (event.type) {
      case 'batch-started':
        if (event.queue !== this.#queue.name) return
        this.#inFlight = event.inFlight
        this.#maxInFlightSeen = Math.max(this.#maxInFlightSeen, event.inFlight)
        return
      case 'batch-finished': {
        if (event.queue !== this.#queue.name) return
        this.#inFlight = event.inFlight
        this.#batches++
        if (event.failed || event.error) this.#batchesFailed++
        this.#recordsFailed += event.failed
        const { batch, poller, size, deleted, failed, error, durationMs, at } = event
        this.#keep(this.#latestBatches, { batch, poller, size, deleted, failed, ...(error !== undefined && { error }), durationMs, at })
        if (failed || error) {
          const detail = error ?? `${failed} of ${size} record${size === 1 ? '' : 's'} failed`
          this.#keep(this.#problems, { at: new Date(at).toISOString(), message: `Batch #${batch} (poller ${poller})`, detail })
        }
        return
      }
      case 'dead-lettered':
        if (event.queue !== this.#queue.name) return
        this.#movedIn += event.messageIds.length
        this.#keep(this.#problems, { at: new Date(event.at).toISOString(), message: `Moved to ${event.dlq}`, detail: event.messageIds.join(', ') })
        return
      case 'output':
        if (event.function !== this.#function) return
        if (event.emf) this.#metrics(event.emf, event.at)
        else this.#logLine(event.line)
        return
      case 'mapping-state':
        if (event.queue === this.#queue.name) this.#mappingState = event.state
        return
    }
  }

  snapshot(): StateSnapshot {
    const now = this.#now()
    this.#counted = this.#counted.filter((item) => item.at > now - LATENCY_WINDOW_MS)
    this.#latencies = this.#latencies.filter((item) => item.at > now - LATENCY_WINDOW_MS)
    const recent = this.#counted.filter((item) => item.at > now - RATE_WINDOW_MS)
    const perSecond = (items: Counted[], key: 'delivered' | 'failed'): number => Math.round((items.reduce((sum, item) => sum + item[key], 0) / (RATE_WINDOW_MS / 1000)) * 10) / 10
    const byChannel: Record<string, ChannelFigures> = {}
    for (const [channel, totals] of [...this.#totals].sort(([a], [b]) => a.localeCompare(b))) {
      const mine = recent.filter((item) => item.channel === channel)
      byChannel[channel] = { total: totals.delivered, failed: totals.failed, perSecond: perSecond(mine, 'delivered'), failedPerSecond: perSecond(mine, 'failed') }
    }
    const sorted = this.#latencies.map((item) => item.ms).sort((a, b) => a - b)
    const sum = (key: 'delivered' | 'failed'): number => [...this.#totals.values()].reduce((total, item) => total + item[key], 0)
    return {
      at: now,
      queue: { name: this.#queue.name, ...this.#queueDepth },
      dlq: { name: `${this.#queue.name}-dlq`, ...this.#dlqDepth, movedIn: this.#movedIn },
      consumer: {
        paused: this.#mappingState === 'Disabled' || this.#mappingState === 'Disabling',
        pausedBy: this.#leveling.pausedBy,
        inFlight: this.#inFlight,
        maxConcurrency: this.#queue.maxConcurrency,
        batchSize: this.#queue.batchSize,
        batchWindow: this.#queue.batchWindow,
        maxReceiveCount: this.#queue.maxReceiveCount,
        maxInFlightSeen: this.#maxInFlightSeen,
        batches: this.#batches,
        batchesFailed: this.#batchesFailed,
        recordsFailed: this.#recordsFailed,
        latestBatches: [...this.#latestBatches],
      },
      breakers: structuredClone(this.#leveling.breakers),
      deliveries: {
        total: sum('delivered'),
        perSecond: perSecond(recent, 'delivered'),
        failed: sum('failed'),
        failedPerSecond: perSecond(recent, 'failed'),
        retries: this.#retries,
        invalidMessages: this.#invalid,
        byChannel,
        latency: { p50: quantile(sorted, 0.5), p95: quantile(sorted, 0.95), samples: sorted.length, windowSeconds: LATENCY_WINDOW_MS / 1000 },
        latest: [...this.#latest],
        problems: [...this.#problems],
      },
    }
  }

  /** The consumer's EMF line: deliveries and failures by channel, their latency from the notification's occurredAt. */
  #metrics(record: EmfRecord, at: number): void {
    for (const metric of record.metrics) {
      const channel = metric.dimensions.channel
      const count = metric.values.reduce((sum, value) => sum + value, 0)
      if (metric.name === METRIC.retries) this.#retries += count
      else if (metric.name === METRIC.invalidMessages) this.#invalid += count
      if (channel === undefined) continue
      if (metric.name === METRIC.delivered) this.#count(channel, at, count, 0)
      else if (metric.name === METRIC.failed) this.#count(channel, at, 0, count)
      else if (metric.name === METRIC.deliveryLatency) for (const ms of metric.values) this.#latencies.push({ at, ms })
    }
  }

  #count(channel: string, at: number, delivered: number, failed: number): void {
    const totals = this.#totals.get(channel) ?? { delivered: 0, failed: 0 }
    totals.delivered += delivered
    totals.failed += failed
    this.#totals.set(channel, totals)
    this.#counted.push({ at, channel, delivered, failed })
  }

  /** The consumer's structured log lines: each delivery (INFO) and each problem it reports (WARN, ERROR). */
  #logLine(line: string): void {
    if (!line.startsWith('{"level":')) return
    let entry: Record<string, unknown>
    try {
      entry = JSON.parse(line) as Record<string, unknown>
    } catch {
      return
    }
    const at = text(entry.timestamp) ?? new Date(this.#now()).toISOString()
    if (entry.message === DELIVERED_LOG_MESSAGE) {
      this.#keep(this.#latest, {
        at,
        notificationId: text(entry.notificationId) ?? '?',
        taskId: text(entry.taskId) ?? '?',
        channel: text(entry.channel) ?? '?',
        receiveCount: Number(entry.receiveCount ?? 0),
      })
    } else if (entry.level === 'WARN' || entry.level === 'ERROR') {
      const reasons = Array.isArray(entry.reasons) ? entry.reasons.map(String).join('; ') : undefined
      const error = typeof entry.error === 'object' && entry.error !== null ? text((entry.error as Record<string, unknown>).message) : text(entry.error)
      this.#keep(this.#problems, {
        at,
        message: text(entry.message) ?? '?',
        ...(text(entry.notificationId) !== undefined && { notificationId: text(entry.notificationId) }),
        detail: reasons ?? error ?? (entry.receiveCount !== undefined ? `receive ${String(entry.receiveCount)}` : ''),
      })
    }
  }

  /** Newest first, the last few only. */
  #keep<T>(list: T[], item: T): void {
    list.unshift(item)
    list.length = Math.min(list.length, KEEP_LATEST)
  }
}
