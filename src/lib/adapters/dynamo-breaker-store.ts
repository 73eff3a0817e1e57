import { closedBreaker, type Breaker, type BreakerSettings, type BreakerState, type Probe } from '../leveling/breaker.ts'
import type { BreakerStore, LevelingState, OperatorPause } from '../leveling/breaker-store.ts'
import type { SlotCounter } from '../leveling/pacer.ts'
import type { ChannelName } from '../notifications/delivery-log.ts'
import { appTables, conditionalWrite, isConditionFailure } from './tables.ts'

/**
 * The `breakers` table: one small item per channel's breaker
 * (`channel#<name>`), one for the operator's pause (`consumer`), one per
 * capped channel's next rate slot (`rate#<name>`). Every change is one
 * conditional write; reads are consistent, so a transition is seen by the
 * next read of any invocation.
 */

type Item = Record<string, unknown>

/** The three calls the store makes, as both the app's aws-lite client and the AWS SDK's document client make them. */
export interface BreakerTable {
  /** A consistent read of one item. */
  get(id: string): Promise<Item | undefined>
  /** UpdateItem; resolves to the attributes it returns (ReturnValues). Throws a condition failure as DynamoDB does. */
  update(input: UpdateInput): Promise<Item | undefined>
  put(input: PutInput): Promise<void>
}

interface Expression {
  ConditionExpression?: string
  ExpressionAttributeNames?: Record<string, string>
  ExpressionAttributeValues?: Record<string, unknown>
}
export interface UpdateInput extends Expression {
  Key: { id: string }
  UpdateExpression: string
  ReturnValues?: 'UPDATED_NEW'
}
export interface PutInput extends Expression {
  Item: Item
}

/** The table through @architect/functions, as the Lambdas reach every table of the app. */
export function arcBreakerTable(): BreakerTable {
  const table = async () => {
    const data = await appTables()
    return { client: data._client, TableName: data.name('breakers') }
  }
  return {
    async get(id) {
      const { client, TableName } = await table()
      return (await client.GetItem({ TableName, Key: { id }, ConsistentRead: true })).Item as Item | undefined
    },
    async update(input) {
      const { client, TableName } = await table()
      return (await client.UpdateItem({ TableName, ...input })).Attributes as Item | undefined
    },
    async put(input) {
      const { client, TableName } = await table()
      await client.PutItem({ TableName, ...input })
    },
  }
}

export const breakerId = (channel: ChannelName): string => `channel#${channel}`
export const PAUSE_ID = 'consumer'
export const rateId = (channel: ChannelName): string => `rate#${channel}`

const STATES = new Set<BreakerState>(['closed', 'open', 'half-open'])
const number = (value: unknown): number | undefined => (typeof value === 'number' && Number.isFinite(value) ? value : undefined)

function toProbe(value: unknown): Probe | undefined {
  if (typeof value !== 'object' || value === null) return undefined
  const probe = value as Record<string, unknown>
  const claimedAt = number(probe.claimedAt)
  const until = number(probe.until)
  if (typeof probe.messageId !== 'string' || claimedAt === undefined || until === undefined) return undefined
  return { messageId: probe.messageId, claimedAt, until }
}

/** A stored item as a breaker; what is missing takes a never-written breaker's value. */
export function toBreaker(channel: ChannelName, item: Item | undefined, settings: BreakerSettings): Breaker {
  const base = closedBreaker(channel, settings)
  if (!item) return base
  const state = STATES.has(item.state as BreakerState) ? (item.state as BreakerState) : 'closed'
  // The set comes back as a Set (DynamoDB's SS); an empty streak is no attribute at all.
  const failing = item.failing instanceof Set || Array.isArray(item.failing) ? [...(item.failing as Iterable<unknown>)].filter((id): id is string => typeof id === 'string') : []
  const probe = toProbe(item.probe)
  return {
    channel,
    state,
    failing,
    openSeconds: number(item.openSeconds) ?? base.openSeconds,
    openUntil: number(item.openUntil) ?? null,
    generation: number(item.generation) ?? 0,
    ...(probe && { probe }),
    ...(typeof item.reason === 'string' && { reason: item.reason }),
    changedAt: number(item.changedAt) ?? null,
  }
}

function toItem(breaker: Breaker): Item {
  return {
    id: breakerId(breaker.channel),
    state: breaker.state,
    openSeconds: breaker.openSeconds,
    generation: breaker.generation,
    ...(breaker.openUntil !== null && { openUntil: breaker.openUntil }),
    ...(breaker.failing.length > 0 && { failing: new Set(breaker.failing) }),
    ...(breaker.probe && { probe: breaker.probe }),
    ...(breaker.reason !== undefined && { reason: breaker.reason }),
    ...(breaker.changedAt !== null && { changedAt: breaker.changedAt }),
  }
}

function toPause(item: Item | undefined): OperatorPause {
  if (item?.pausedBy !== 'operator') return { pausedBy: null }
  const pausedAt = number(item.operatorPausedAt)
  return { pausedBy: 'operator', ...(pausedAt !== undefined && { pausedAt }), ...(typeof item.operatorPausedBy === 'string' && { by: item.operatorPausedBy }) }
}

/** A closed breaker of `generation`, as a condition: a never-opened one (generation 0) has no generation stored. */
function closedAt(generation: number): Required<Expression> {
  return {
    ConditionExpression: `(attribute_not_exists(#state) OR #state = :closed) AND ${generation === 0 ? 'attribute_not_exists(generation)' : 'generation = :generation'}`,
    ExpressionAttributeNames: { '#state': 'state' },
    ExpressionAttributeValues: { ':closed': 'closed', ...(generation !== 0 && { ':generation': generation }) },
  }
}

/** The breaker is still exactly what the writer saw: its state, its generation, and who (if anyone) holds its probe. */
function stillIs(expected: Breaker): Required<Expression> {
  const base = expected.state === 'closed' ? closedAt(expected.generation) : undefined
  const conditions = base
    ? [base.ConditionExpression]
    : ['#state = :expectedState', expected.generation === 0 ? 'attribute_not_exists(generation)' : 'generation = :generation']
  const values: Record<string, unknown> = base ? { ...base.ExpressionAttributeValues } : { ':expectedState': expected.state, ...(expected.generation !== 0 && { ':generation': expected.generation }) }
  if (expected.probe) {
    conditions.push('probe.messageId = :probeMessage AND probe.claimedAt = :probeClaimedAt')
    values[':probeMessage'] = expected.probe.messageId
    values[':probeClaimedAt'] = expected.probe.claimedAt
  } else {
    conditions.push('attribute_not_exists(probe)')
  }
  return { ConditionExpression: conditions.join(' AND '), ExpressionAttributeNames: { '#state': 'state' }, ExpressionAttributeValues: values }
}

export class DynamoBreakerStore implements BreakerStore, SlotCounter {
  readonly #table: BreakerTable
  readonly #settings: BreakerSettings

  constructor(table: BreakerTable, settings: BreakerSettings) {
    this.#table = table
    this.#settings = settings
  }

  async read(channels: readonly ChannelName[]): Promise<LevelingState> {
    const [pause, ...items] = await Promise.all([this.#table.get(PAUSE_ID), ...channels.map((channel) => this.#table.get(breakerId(channel)))])
    return {
      breakers: Object.fromEntries(channels.map((channel, index) => [channel, toBreaker(channel, items[index], this.#settings)])),
      pause: toPause(pause),
    }
  }

  async addFailure(channel: ChannelName, generation: number, notificationId: string): Promise<number | undefined> {
    const condition = closedAt(generation)
    let attributes: Item | undefined
    try {
      attributes = await this.#table.update({
        Key: { id: breakerId(channel) },
        UpdateExpression: 'ADD failing :id',
        ...condition,
        ExpressionAttributeValues: { ...condition.ExpressionAttributeValues, ':id': new Set([notificationId]) },
        ReturnValues: 'UPDATED_NEW',
      })
    } catch (error) {
      if (isConditionFailure(error)) return undefined
      throw error
    }
    const failing = attributes?.failing
    return failing instanceof Set ? failing.size : Array.isArray(failing) ? failing.length : 1
  }

  clearFailures(channel: ChannelName, generation: number): Promise<boolean> {
    return conditionalWrite(() => this.#table.update({ Key: { id: breakerId(channel) }, UpdateExpression: 'REMOVE failing', ...closedAt(generation) }))
  }

  transition(expected: Breaker, next: Breaker): Promise<boolean> {
    return conditionalWrite(() => this.#table.put({ Item: toItem(next), ...stillIs(expected) }))
  }

  async setPause(pause: OperatorPause): Promise<void> {
    await this.#table.put({
      Item: {
        id: PAUSE_ID,
        pausedBy: pause.pausedBy,
        ...(pause.pausedAt !== undefined && { operatorPausedAt: pause.pausedAt }),
        ...(pause.by !== undefined && { operatorPausedBy: pause.by }),
      },
    })
  }

  claimIfFree(channel: ChannelName, now: number, next: number): Promise<boolean> {
    return conditionalWrite(() =>
      this.#table.update({
        Key: { id: rateId(channel) },
        UpdateExpression: 'SET nextSlotMs = :next',
        ConditionExpression: 'attribute_not_exists(nextSlotMs) OR nextSlotMs <= :now',
        ExpressionAttributeValues: { ':next': next, ':now': now },
      }),
    )
  }

  async advance(channel: ChannelName, gapMs: number): Promise<number> {
    const attributes = await this.#table.update({
      Key: { id: rateId(channel) },
      UpdateExpression: 'ADD nextSlotMs :gap',
      ExpressionAttributeValues: { ':gap': gapMs },
      ReturnValues: 'UPDATED_NEW',
    })
    const next = number(attributes?.nextSlotMs)
    if (next === undefined) throw new Error(`The rate slot of ${channel} came back without nextSlotMs`)
    return next
  }
}
