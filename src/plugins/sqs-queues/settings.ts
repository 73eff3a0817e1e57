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
}

/** visibilityTimeout has no fixed default: AWS's guidance, 6x the consumer's timeout plus batchWindow. */
const DEFAULTS = {
  batchSize: 10,
  batchWindow: 0,
  maxConcurrency: 2,
  maxReceiveCount: 5,
  visibilityTimeout: undefined,
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

/**
 * AWS's guidance for a queue that feeds a Lambda: a visibility timeout of at
 * least six times the function's timeout plus the batch window, so a message
 * is not handed out again while a throttled or retried invocation still holds it.
 */
export const guidedVisibilityTimeout = (consumerTimeout: number, batchWindow: number): number => 6 * consumerTimeout + batchWindow

export function readQueueSettings(source: QueueSource): QueueSettings[] {
  const problems: string[] = []
  const settings = (source.queues ?? []).map((item) => {
    const [name, keys] = typeof item === 'string' ? [item, {}] : (Object.entries(item)[0] ?? ['', {}])
    const where = `@queues ${name}`
    if (keys.fifo !== false) problems.push(`${where}: add "fifo false": this pattern needs a standard queue (Architect defaults to FIFO)`)
    for (const key of Object.keys(keys)) {
      if (!KNOWN_KEYS.has(key)) problems.push(`${where}: unknown key "${key}"`)
    }
    const read = (key: keyof typeof DEFAULTS, fallback: number): number => {
      const value = keys[key] ?? fallback
      const [min, max] = RANGES[key]
      if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
        problems.push(`${where}: ${key} must be a whole number from ${min} to ${max}, got ${JSON.stringify(value)}`)
        return fallback
      }
      return value
    }
    const consumerTimeout = source.consumerTimeouts[name] ?? 30
    const batchWindow = read('batchWindow', DEFAULTS.batchWindow)
    const queue: QueueSettings = {
      name,
      batchSize: read('batchSize', DEFAULTS.batchSize),
      batchWindow,
      maxConcurrency: read('maxConcurrency', DEFAULTS.maxConcurrency),
      maxReceiveCount: read('maxReceiveCount', DEFAULTS.maxReceiveCount),
      visibilityTimeout: read('visibilityTimeout', guidedVisibilityTimeout(consumerTimeout, batchWindow)),
      retentionDays: read('retentionDays', DEFAULTS.retentionDays),
      dlqRetentionDays: read('dlqRetentionDays', DEFAULTS.dlqRetentionDays),
      consumerTimeout,
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
