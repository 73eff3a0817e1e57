/**
 * The deploy-only settings: alarms, API throttling, log retention, delivery
 * record expiry, where the webhook signing secret lives, X-Ray tracing and the
 * CloudWatch dashboard. They live in app.arc
 * under `@queue-leveling`, next to the `@queues` keys, one `name value` per
 * line; every one is optional:
 *
 *   @queue-leveling
 *   alarmEmail "ops@example.com"   # quoted: Architect's parser reads a bare @ as a pragma
 *   alarmOldestMessageSeconds 900
 *   alarmPausedMinutes 30
 *   throttleRate 100
 *   throttleBurst 200
 *   logRetentionDays 30
 *   deliveryRetentionDays 90
 *   webhookSecretParameter "/secrets/queue-leveling/{stage}/webhook-signing-secret"   # quoted: braces
 *   tracing true
 *   dashboard true
 *
 * Values AWS would refuse stop the build here, as settings.ts does for the queue keys.
 */

export interface DeploySettings {
  /** Alarm notifications go to an SNS topic with this email subscription; no topic when unset. */
  alarmEmail: string | undefined
  /** ApproximateAgeOfOldestMessage (seconds) above which the queue's age alarm fires. */
  alarmOldestMessageSeconds: number
  /** Minutes a breaker may keep the consumer paused before its alarm fires (cloudformation.ts withBreakerPauseAlarm). */
  alarmPausedMinutes: number
  /** HTTP API default route throttling: steady requests per second. */
  throttleRate: number
  /** HTTP API default route throttling: burst. */
  throttleBurst: number
  /** RetentionInDays of every function's log group. */
  logRetentionDays: number
  /** Days a delivery record is kept before its TTL (`expiresAt`) expires it. */
  deliveryRetentionDays: number
  /** The SSM SecureString of the webhook signing secret, `{stage}` standing for the stage; unset: webhook-secret.ts's default. */
  webhookSecretParameter: string | undefined
  /** X-Ray active tracing on every function, with the permissions and the setting that turn Powertools Tracer on. */
  tracing: boolean
  /** The stage's CloudWatch dashboard and its URL output. */
  dashboard: boolean
}

export class DeploySettingsError extends Error {
  override readonly name = 'DeploySettingsError'
}

export const DEPLOY_SETTINGS_PRAGMA = 'queue-leveling'

export const DEPLOY_DEFAULTS: DeploySettings = {
  alarmEmail: undefined,
  alarmOldestMessageSeconds: 900,
  alarmPausedMinutes: 30,
  throttleRate: 100,
  throttleBurst: 200,
  logRetentionDays: 30,
  deliveryRetentionDays: 90,
  webhookSecretParameter: undefined,
  tracing: true,
  dashboard: true,
}

/** The values CloudWatch Logs accepts for RetentionInDays. */
export const LOG_RETENTION_DAYS = [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653] as const

type BooleanKey = 'tracing' | 'dashboard'
const BOOLEAN_KEYS: readonly string[] = ['tracing', 'dashboard'] satisfies BooleanKey[]
type NumericKey = Exclude<keyof DeploySettings, 'alarmEmail' | 'webhookSecretParameter' | BooleanKey>

/** [min, max, whole number?] of each numeric setting, as AWS accepts it (account default quotas for throttling). */
export const DEPLOY_RANGES: Record<NumericKey, [number, number, boolean]> = {
  // SQS keeps a message at most 14 days; CloudWatch alarm thresholds need a positive age.
  alarmOldestMessageSeconds: [60, 1_209_600, true],
  // The pause gauge has a data point at least every 15 minutes: below that the alarm cannot tell. CloudWatch
  // evaluates at most a day of 15-minute periods, and the alarm looks at N/15 + 1 of them.
  alarmPausedMinutes: [15, 1425, true],
  // API Gateway's default account quota: 10,000 requests per second, burst 5,000.
  throttleRate: [1, 10_000, false],
  throttleBurst: [1, 5_000, true],
  logRetentionDays: [1, 3653, true],
  deliveryRetentionDays: [1, 3650, true],
}

/**
 * What docs/settings.md says of each key (generated: `npm run docs:settings`). The
 * default shown is DEPLOY_DEFAULTS' unless given here in words, the range DEPLOY_RANGES'.
 */
export const DEPLOY_SETTING_DOCS: Record<keyof DeploySettings, { doc: string; default?: string }> = {
  alarmEmail: { default: 'unset: no topic', doc: 'alarms go to an SNS topic with this email subscription (quote it: `"ops@example.com"`; confirm the subscription mail)' },
  alarmOldestMessageSeconds: { doc: 'age of the oldest queued message that raises the age alarm' },
  alarmPausedMinutes: {
    doc: 'minutes a breaker may keep the consumer paused before `ConsumerPausedByBreakerAlarm` fires (the gauge\'s resolution is 15 minutes; CloudWatch evaluates at most a day of such periods): [adaptive leveling](adaptive-leveling.md)',
  },
  throttleRate: { doc: 'HTTP API steady requests per second (fractions allowed)' },
  throttleBurst: { doc: 'HTTP API burst' },
  logRetentionDays: { doc: `log retention of every function and of the API's access logs, one of CloudWatch's values (${LOG_RETENTION_DAYS.join(', ')})` },
  deliveryRetentionDays: { doc: 'days a delivery record lives before its TTL; the consumer gets it as `DELIVERY_RETENTION_DAYS`' },
  webhookSecretParameter: {
    default: '`/secrets/<app>/{stage}/webhook-signing-secret`',
    doc: "the SSM `SecureString` of the webhook signing secret; `{stage}` becomes the stage (quote the value: Architect's parser refuses bare braces). A name starting with `aws` or `ssm`, or under `/<app>/` or `/<stack>/`, is refused ([deploy](deploy.md#the-webhook-signing-secret))",
  },
  tracing: { doc: "X-Ray active tracing on every function, the tracer's setting and each role's X-Ray permission; `false` turns all three off" },
  dashboard: { doc: "the stage's CloudWatch dashboard and its `DashboardUrl` output; `false` leaves both out" },
}

const EMAIL = /^[^\s@"]+@[^\s@"]+\.[^\s@"]+$/

/**
 * An SSM parameter name in a hierarchy, as SSM accepts it: `/` then segments of
 * letters, digits and `_.-` (and `{stage}`), at most 15 levels and 1011
 * characters, none starting with `aws` or `ssm`, which AWS reserves.
 */
function parameterNameProblem(value: string): string | undefined {
  const segments = value.split('/').slice(1)
  if (!value.startsWith('/') || segments.some((segment) => !/^(?:[A-Za-z0-9_.-]|\{stage\})+$/.test(segment))) {
    return 'must be an SSM parameter name: /segment/segment..., letters, digits, _ . - and {stage}'
  }
  if (segments.length > 15 || value.length > 1011) return 'must have at most 15 levels and 1011 characters'
  if (/^(aws|ssm)/i.test(segments[0]!)) return 'must not start with aws or ssm, which AWS reserves'
  return undefined
}

type ArcValue = string | number | boolean | ArcValue[] | { [key: string]: ArcValue }

/** `arc['queue-leveling']` of the parsed manifest: `[['throttleRate', 100], ...]`. */
export function readDeploySettings(pragma: ArcValue[] | undefined): DeploySettings {
  const problems: string[] = []
  const settings: DeploySettings = { ...DEPLOY_DEFAULTS }
  const where = `@${DEPLOY_SETTINGS_PRAGMA}`
  const seen = new Set<string>()
  for (const entry of pragma ?? []) {
    if (!Array.isArray(entry) || entry.length !== 2 || typeof entry[0] !== 'string') {
      problems.push(`${where}: expected "name value" lines, got ${JSON.stringify(entry)}`)
      continue
    }
    const [key, value] = entry as [string, ArcValue]
    if (seen.has(key)) problems.push(`${where}: ${key} is given twice`)
    seen.add(key)
    if (key === 'alarmEmail') {
      if (typeof value !== 'string' || !EMAIL.test(value)) {
        problems.push(`${where}: alarmEmail must be an email address in quotes, e.g. alarmEmail "ops@example.com", got ${JSON.stringify(value)}`)
      } else settings.alarmEmail = value
      continue
    }
    if (key === 'webhookSecretParameter') {
      const problem = typeof value === 'string' ? parameterNameProblem(value) : 'must be an SSM parameter name'
      if (problem) problems.push(`${where}: webhookSecretParameter ${problem}, got ${JSON.stringify(value)}`)
      else settings.webhookSecretParameter = value as string
      continue
    }
    if (BOOLEAN_KEYS.includes(key)) {
      // Architect's parser reads a bare true or false as a boolean; anything else (yes, "false", 1) is refused rather than guessed.
      if (typeof value !== 'boolean') problems.push(`${where}: ${key} must be true or false, got ${JSON.stringify(value)}`)
      else settings[key as BooleanKey] = value
      continue
    }
    if (!(key in DEPLOY_RANGES)) {
      problems.push(`${where}: unknown key "${key}" (known: ${Object.keys(DEPLOY_DEFAULTS).join(', ')})`)
      continue
    }
    const name = key as NumericKey
    const [min, max, whole] = DEPLOY_RANGES[name]
    if (typeof value !== 'number' || !Number.isFinite(value) || (whole && !Number.isInteger(value)) || value < min || value > max) {
      problems.push(`${where}: ${name} must be ${whole ? 'a whole number' : 'a number'} from ${min} to ${max}, got ${JSON.stringify(value)}`)
      continue
    }
    if (name === 'logRetentionDays' && !(LOG_RETENTION_DAYS as readonly number[]).includes(value)) {
      problems.push(`${where}: logRetentionDays must be one of the values CloudWatch Logs accepts (${LOG_RETENTION_DAYS.join(', ')}), got ${value}`)
      continue
    }
    settings[name] = value
  }
  if (problems.length) throw new DeploySettingsError(`Invalid deploy settings in app.arc:\n- ${problems.join('\n- ')}`)
  return settings
}
