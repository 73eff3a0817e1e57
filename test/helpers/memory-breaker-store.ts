import { closedBreaker, type Breaker, type BreakerSettings } from '../../src/lib/leveling/breaker.ts'
import type { BreakerStore, LevelingState, OperatorPause } from '../../src/lib/leveling/breaker-store.ts'
import type { ControlMessage, ControlSender } from '../../src/lib/leveling/control.ts'
import type { LevelingMetrics } from '../../src/lib/leveling/metrics.ts'
import type { PausedBy } from '../../src/lib/leveling/reconcile.ts'
import type { ChannelName } from '../../src/lib/notifications/delivery-log.ts'

/**
 * The breakers in memory, with DynamoDB's conditional semantics: each write
 * holds only if the breaker is still what the writer saw, as
 * DynamoBreakerStore's conditions make it. `latency` lets a test stretch
 * every call, so that concurrent callers interleave.
 */
export class MemoryBreakerStore implements BreakerStore {
  readonly breakers = new Map<ChannelName, Breaker>()
  pause: OperatorPause = { pausedBy: null }
  readonly writes: string[] = []
  latency: () => Promise<void> = async () => {}
  readonly #settings: BreakerSettings

  constructor(settings: BreakerSettings) {
    this.#settings = settings
  }

  breaker(channel: ChannelName): Breaker {
    return this.breakers.get(channel) ?? closedBreaker(channel, this.#settings)
  }

  async read(channels: readonly ChannelName[]): Promise<LevelingState> {
    await this.latency()
    return { breakers: Object.fromEntries(channels.map((channel) => [channel, structuredClone(this.breaker(channel))])), pause: { ...this.pause } }
  }

  async addFailure(channel: ChannelName, generation: number, notificationId: string): Promise<number | undefined> {
    await this.latency()
    const current = this.breaker(channel)
    if (current.state !== 'closed' || current.generation !== generation) return undefined
    const failing = current.failing.includes(notificationId) ? current.failing : [...current.failing, notificationId]
    this.breakers.set(channel, { ...current, failing })
    this.writes.push(`addFailure ${channel} ${notificationId}`)
    return failing.length
  }

  async clearFailures(channel: ChannelName, generation: number): Promise<boolean> {
    await this.latency()
    const current = this.breaker(channel)
    if (current.state !== 'closed' || current.generation !== generation) return false
    this.breakers.set(channel, { ...current, failing: [] })
    this.writes.push(`clearFailures ${channel}`)
    return true
  }

  async transition(expected: Breaker, next: Breaker): Promise<boolean> {
    await this.latency()
    const current = this.breaker(expected.channel)
    const sameProbe = current.probe?.messageId === expected.probe?.messageId && current.probe?.claimedAt === expected.probe?.claimedAt
    if (current.state !== expected.state || current.generation !== expected.generation || !sameProbe) return false
    this.breakers.set(expected.channel, structuredClone(next))
    this.writes.push(`transition ${expected.channel} ${expected.state} -> ${next.state}${next.probe ? ` (probe ${next.probe.messageId})` : ''}`)
    return true
  }

  async setPause(pause: OperatorPause): Promise<void> {
    await this.latency()
    this.pause = { ...pause }
    this.writes.push(`pause ${pause.pausedBy}`)
  }
}

/** Control messages kept in order, each with its delay. */
export class RecordingControl implements ControlSender {
  readonly sent: { message: ControlMessage; delaySeconds: number }[] = []
  async send(messages: readonly { message: ControlMessage; delaySeconds: number }[]): Promise<void> {
    this.sent.push(...messages)
  }
}

export class RecordingLevelingMetrics implements LevelingMetrics {
  readonly events: string[] = []
  breakerOpened(channel: ChannelName): void {
    this.events.push(`opened ${channel}`)
  }
  breakerClosed(channel: ChannelName): void {
    this.events.push(`closed ${channel}`)
  }
  deferred(channel: ChannelName): void {
    this.events.push(`deferred ${channel}`)
  }
  paused(by: PausedBy): void {
    this.events.push(`paused ${by}`)
  }
}

/** A clock a test moves by hand. */
export class ManualClock {
  now = Date.parse('2030-01-01T00:00:00.000Z')
  readonly read = (): number => this.now
  advance(ms: number): void {
    this.now += ms
  }
}
