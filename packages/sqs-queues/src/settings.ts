/**
 * The `@queues` keys of app.arc, read and checked once for both the local
 * emulation and the deployed CloudFormation. Combinations AWS would refuse, or
 * that would lose messages, stop the build here with a message saying why.
 */

/** What only a FIFO queue has. */
export interface FifoSettings {
  /** SQS's ContentBasedDeduplication: a message sent without a deduplication id is deduplicated by the SHA-256 of its body. */
  contentBasedDeduplication: boolean
}

export interface QueueSettings {
  name: string
  /** Present for a FIFO queue (Architect's default), absent for a standard queue. */
  fifo?: FifoSettings
  batchSize: number
  /** Seconds. */
  batchWindow: number
  maxConcurrency: number
  maxReceiveCount: number
  /** Seconds. */
  visibilityTimeout: number
  retentionDays: number
  dlqRetentionDays: number
  /** The consumer Lambda's own timeout, seconds (its config.arc). */
  consumerTimeout: number
}

/** A queue's name and kind: what naming its local queues needs. */
export type QueueKind = Pick<QueueSettings, 'name' | 'fifo'>

export class QueueSettingsError extends Error {
  override readonly name = 'QueueSettingsError'
}

type ArcValue = string | number | boolean | ArcValue[] | { [key: string]: ArcValue }
type ArcQueueItem = string | Record<string, Record<string, ArcValue>>

export interface QueueSource {
  /** `arc.queues` of the parsed project manifest. */
  queues: ArcQueueItem[] | undefined
  /** `arc.aws` of the parsed project manifest: its `fifo` line is the default of every queue, as in Architect. */
  aws?: unknown
  /** Consumer timeout by queue name, from Architect's inventory (config.arc). */
  consumerTimeouts: Record<string, number>
}

type NumericKey = 'batchSize' | 'batchWindow' | 'maxConcurrency' | 'maxReceiveCount' | 'visibilityTimeout' | 'retentionDays' | 'dlqRetentionDays'

interface NumericRule {
  /** Absent: derived (visibilityTimeout follows AWS's guidance). */
  default?: number
  /** [min, max], as AWS accepts it. */
  range: [number, number]
  /** A narrower [min, max] for a FIFO queue, and AWS's reason. */
  fifo?: { range: [number, number]; why: string }
  doc: string
}

/**
 * Every `@queues` key: Architect's own (`fifo`, `batchSize`, `batchWindow`) with
 * Architect's defaults, and this plugin's. The one table of them; the READMEs
 * describe it.
 */
export const QUEUE_KEYS = {
  fifo: { default: 'the @aws fifo line, else true (Architect)', doc: 'FIFO queue (true) or standard queue (false)' },
  contentBasedDeduplication: { default: true, doc: 'FIFO only: deduplicate a message sent without a MessageDeduplicationId by the SHA-256 of its body (Architect turns it on)' },
  numeric: {
    batchSize: {
      default: 10,
      range: [1, 10_000],
      fifo: { range: [1, 10], why: 'AWS allows at most 10 records per batch from a FIFO queue' },
      doc: 'records per invocation; above 10 only with batchWindow >= 1 (a standard queue)',
    },
    batchWindow: {
      default: 0,
      range: [0, 300],
      fifo: { range: [0, 0], why: 'AWS supports no batching window for FIFO queues' },
      doc: 'seconds to wait to fill a batch',
    },
    maxConcurrency: { default: 2, range: [2, 1000], doc: 'concurrent consumer invocations at most (ScalingConfig.MaximumConcurrency)' },
    maxReceiveCount: { default: 5, range: [1, 1000], doc: "receives before a message moves to the DLQ (AWS's guidance: at least 5)" },
    visibilityTimeout: { range: [0, 43_200], doc: "seconds a received message stays hidden; default AWS's guidance, 6x the consumer's timeout plus batchWindow; only a value below the consumer's timeout is refused, so tests can use short ones" },
    retentionDays: { default: 4, range: [1, 14], doc: 'days a message is kept in the queue' },
    dlqRetentionDays: { default: 14, range: [1, 14], doc: 'days a message is kept in the DLQ, not below retentionDays' },
  } satisfies Record<NumericKey, NumericRule>,
} as const

const KNOWN_KEYS = new Set<string>(['fifo', 'contentBasedDeduplication', 'src', ...Object.keys(QUEUE_KEYS.numeric)])

/**
 * AWS's guidance for a queue that feeds a Lambda: a visibility timeout of at
 * least six times the function's timeout plus the batch window, so a message
 * is not handed out again while a throttled or retried invocation still holds it.
 */
export const guidedVisibilityTimeout = (consumerTimeout: number, batchWindow: number): number => 6 * consumerTimeout + batchWindow

const entryOf = (item: ArcQueueItem): [string, Record<string, ArcValue>] => (typeof item === 'string' ? [item, {}] : (Object.entries(item)[0] ?? ['', {}]))

/** The `fifo` line of `@aws`, which Architect makes every queue's default. */
function awsFifo(aws: unknown): unknown {
  if (!Array.isArray(aws)) return undefined
  const line = aws.findLast((entry): entry is unknown[] => Array.isArray(entry) && entry[0] === 'fifo')
  return line?.[1]
}

/**
 * A FIFO queue's settings, or undefined for a standard queue. FIFO unless told
 * otherwise, as Architect decides it: the queue's `fifo` key, else `@aws fifo`,
 * else true; content-based deduplication on unless turned off, as Architect deploys it.
 */
function fifoSettingsOf(keys: Record<string, ArcValue>, aws: unknown): FifoSettings | undefined {
  const declared = keys.fifo ?? awsFifo(aws)
  if (declared === false) return undefined
  return { contentBasedDeduplication: keys.contentBasedDeduplication !== false }
}

/**
 * Each queue's name and kind, without checking its keys: what names the local
 * queues before Architect has read the consumers' config (set.env).
 */
export function queueKinds(source: Pick<QueueSource, 'queues' | 'aws'>): QueueKind[] {
  return (source.queues ?? []).map((item) => {
    const [name, keys] = entryOf(item)
    const fifo = fifoSettingsOf(keys, source.aws)
    return fifo ? { name, fifo } : { name }
  })
}

export function readQueueSettings(source: QueueSource): QueueSettings[] {
  const problems: string[] = []
  const projectFifo = awsFifo(source.aws)
  if (projectFifo !== undefined && typeof projectFifo !== 'boolean') problems.push(`@aws fifo must be true or false, got ${JSON.stringify(projectFifo)}`)
  const settings = (source.queues ?? []).map((item) => {
    const [name, keys] = entryOf(item)
    const where = `@queues ${name}`
    for (const key of Object.keys(keys)) {
      if (!KNOWN_KEYS.has(key)) problems.push(`${where}: unknown key "${key}"`)
    }
    for (const key of ['fifo', 'contentBasedDeduplication'] as const) {
      if (keys[key] !== undefined && typeof keys[key] !== 'boolean') problems.push(`${where}: ${key} must be true or false, got ${JSON.stringify(keys[key])}`)
    }
    const fifoSettings = fifoSettingsOf(keys, source.aws)
    const fifo = fifoSettings !== undefined
    if (!fifo && keys.contentBasedDeduplication !== undefined) {
      problems.push(`${where}: contentBasedDeduplication is for FIFO queues only (SQS refuses it on a standard queue)`)
    }
    const read = (key: NumericKey, fallback: number): number => {
      const rule: NumericRule = QUEUE_KEYS.numeric[key]
      const value = keys[key] ?? fallback
      const [min, max] = rule.range
      if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
        problems.push(`${where}: ${key} must be a whole number from ${min} to ${max}, got ${JSON.stringify(value)}`)
        return fallback
      }
      const [fifoMin, fifoMax] = rule.fifo?.range ?? [min, max]
      if (fifo && (value < fifoMin || value > fifoMax)) {
        const allowed = fifoMin === fifoMax ? `${fifoMin}` : `from ${fifoMin} to ${fifoMax}`
        problems.push(`${where}: ${key} ${value} on a FIFO queue: ${rule.fifo?.why} (${key} ${allowed}; or add "fifo false" for a standard queue)`)
      }
      return value
    }
    const defaults = QUEUE_KEYS.numeric
    const consumerTimeout = source.consumerTimeouts[name] ?? 30
    const batchWindow = read('batchWindow', defaults.batchWindow.default)
    const queue: QueueSettings = {
      name,
      ...(fifoSettings && { fifo: fifoSettings }),
      batchSize: read('batchSize', defaults.batchSize.default),
      batchWindow,
      maxConcurrency: read('maxConcurrency', defaults.maxConcurrency.default),
      maxReceiveCount: read('maxReceiveCount', defaults.maxReceiveCount.default),
      visibilityTimeout: read('visibilityTimeout', guidedVisibilityTimeout(consumerTimeout, batchWindow)),
      retentionDays: read('retentionDays', defaults.retentionDays.default),
      dlqRetentionDays: read('dlqRetentionDays', defaults.dlqRetentionDays.default),
      consumerTimeout,
    }
    if (queue.batchSize > 10 && queue.batchWindow < 1 && !fifo) {
      problems.push(`${where}: batchSize ${queue.batchSize} is above 10, which AWS allows only with batchWindow of at least 1 second`)
    }
    if (queue.visibilityTimeout < queue.consumerTimeout) {
      problems.push(
        `${where}: visibilityTimeout ${queue.visibilityTimeout}s is below the consumer's timeout of ${queue.consumerTimeout}s ` +
          `(src/queues/${name}/config.arc): a message would come back while it is still being processed`,
      )
    }
    if (queue.dlqRetentionDays < queue.retentionDays) {
      problems.push(
        `${where}: dlqRetentionDays ${queue.dlqRetentionDays} is below retentionDays ${queue.retentionDays}: ` +
          'a message keeps its first enqueue time in the DLQ and would expire there on arrival',
      )
    }
    return queue
  })
  if (problems.length) throw new QueueSettingsError(`Invalid queue settings in app.arc:\n- ${problems.join('\n- ')}`)
  return settings
}
