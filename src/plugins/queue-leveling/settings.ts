/**
 * The `@queues` keys of app.arc, read and checked once for both the local
 * emulation and the deployed CloudFormation. Combinations AWS would refuse, or
 * that would lose messages, stop the build here with a message saying why.
 */

export interface QueueSettings {
  name: string
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

export class QueueSettingsError extends Error {
  override readonly name = 'QueueSettingsError'
}

type ArcValue = string | number | boolean | ArcValue[] | { [key: string]: ArcValue }
type ArcQueueItem = string | Record<string, Record<string, ArcValue>>

export interface QueueSource {
  /** `arc.queues` of the parsed project manifest. */
  queues: ArcQueueItem[] | undefined
  /** Consumer timeout by queue name, from Architect's inventory (config.arc). */
  consumerTimeouts: Record<string, number>
  /** NOTIFY_WEBHOOK_TIMEOUT_MS, which must fit inside the consumer's timeout. */
  webhookTimeoutMs: number
}

const DEFAULTS = {
  batchSize: 10,
  batchWindow: 0,
  maxConcurrency: 2,
  maxReceiveCount: 3,
  visibilityTimeout: 60,
  retentionDays: 4,
  dlqRetentionDays: 14,
} as const

/** [min, max] of each key, as AWS accepts it. */
const RANGES: Record<keyof typeof DEFAULTS, [number, number]> = {
  batchSize: [1, 10_000],
  batchWindow: [0, 300],
  maxConcurrency: [2, 1000],
  maxReceiveCount: [1, 1000],
  visibilityTimeout: [0, 43_200],
  retentionDays: [1, 14],
  dlqRetentionDays: [1, 14],
}

const KNOWN_KEYS = new Set<string>(['fifo', 'src', ...Object.keys(DEFAULTS)])

export function readQueueSettings(source: QueueSource): QueueSettings[] {
  const problems: string[] = []
  const settings = (source.queues ?? []).map((item) => {
    const [name, keys] = typeof item === 'string' ? [item, {}] : (Object.entries(item)[0] ?? ['', {}])
    const where = `@queues ${name}`
    if (keys.fifo !== false) problems.push(`${where}: add "fifo false": this pattern needs a standard queue (Architect defaults to FIFO)`)
    for (const key of Object.keys(keys)) {
      if (!KNOWN_KEYS.has(key)) problems.push(`${where}: unknown key "${key}"`)
    }
    const read = (key: keyof typeof DEFAULTS): number => {
      const value = keys[key] ?? DEFAULTS[key]
      const [min, max] = RANGES[key]
      if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
        problems.push(`${where}: ${key} must be a whole number from ${min} to ${max}, got ${JSON.stringify(value)}`)
        return DEFAULTS[key]
      }
      return value
    }
    const queue: QueueSettings = {
      name,
      batchSize: read('batchSize'),
      batchWindow: read('batchWindow'),
      maxConcurrency: read('maxConcurrency'),
      maxReceiveCount: read('maxReceiveCount'),
      visibilityTimeout: read('visibilityTimeout'),
      retentionDays: read('retentionDays'),
      dlqRetentionDays: read('dlqRetentionDays'),
      consumerTimeout: source.consumerTimeouts[name] ?? 30,
    }
    if (queue.batchSize > 10 && queue.batchWindow < 1) {
      problems.push(`${where}: batchSize ${queue.batchSize} is above 10, which AWS allows only with batchWindow of at least 1 second`)
    }
    if (queue.visibilityTimeout < queue.consumerTimeout) {
      problems.push(
        `${where}: visibilityTimeout ${queue.visibilityTimeout}s is below the consumer's timeout of ${queue.consumerTimeout}s ` +
          `(src/queues/${name}/config.arc): a message would come back while it is still being processed`,
      )
    }
    if (source.webhookTimeoutMs >= queue.consumerTimeout * 1000) {
      problems.push(
        `${where}: NOTIFY_WEBHOOK_TIMEOUT_MS ${source.webhookTimeoutMs} must be below the consumer's timeout of ${queue.consumerTimeout}s`,
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
