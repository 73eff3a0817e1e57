import * as z from 'zod/mini'
import { insecureUrlReason } from './secure-url.ts'

/**
 * The one reader of the app's runtime settings, one group per kind of
 * function: each function reads (and so validates) only the settings it uses,
 * so a mistake in a consumer-only setting cannot take an HTTP route down.
 * `validateSettings` checks every setting at once, for `npm start` and deploy.
 * Every setting is documented in SETTING_DOCS, from which docs/settings.md is
 * generated (`npm run docs:settings`); the queue's own keys live in app.arc instead.
 */
const optionalText = z.pipe(
  z.optional(z.string()),
  z.transform((value) => (value?.trim() ? value.trim() : undefined)),
)

/** An optional whole-number setting; unset or empty takes the default. */
const wholeNumber = (min: number, max: number, fallback: number) =>
  z.pipe(
    optionalText,
    z.pipe(
      z.transform((value: string | undefined) => (value === undefined ? fallback : Number(value))),
      z.int().check(z.gte(min), z.lte(max)),
    ),
  )

const optionalUrl = z.pipe(optionalText, z.optional(z.url()))

/** A URL the app sends to or fetches from: `https`, or plain `http` to a loopback address (a local run). */
const secureUrl = z.pipe(
  optionalUrl,
  z.optional(z.string().check(z.refine((value) => insecureUrlReason(new URL(value)) === null, { error: 'must be https (plain http only to a loopback address)' }))),
)

/**
 * An SSM parameter, as GetParameter takes it: a name (`/a/b`, letters, digits
 * and `_.-/`, at most 2048 characters, as SSM allows) or the parameter's ARN
 * (another account's, or a shared one).
 */
const ssmParameterName = z.pipe(
  optionalText,
  z.optional(
    z.string().check(
      z.maxLength(2048, { error: 'must be at most 2048 characters' }),
      z.regex(/^(?:arn:aws[a-z-]*:ssm:[a-z0-9-]+:\d{12}:parameter\/)?[A-Za-z0-9_.\-/]+$/, { error: 'must be an SSM parameter name (letters, digits, _ . - /) or its ARN' }),
    ),
  ),
)

/** `true` or `false` (any case); unset or empty is `false`. */
const flag = z.pipe(
  optionalText,
  z.pipe(
    z.optional(z.enum(['true', 'false', 'TRUE', 'FALSE', 'True', 'False'], { error: 'must be true or false' })),
    z.transform((value) => value?.toLowerCase() === 'true'),
  ),
)

/** A comma-separated list; empty entries dropped. */
const list = z.pipe(
  optionalText,
  z.transform((value) => (value ?? '').split(',').map((entry) => entry.trim()).filter(Boolean)),
)

/** A scope name: unset takes the default; set but empty means no scope is needed. */
const scopeName = (fallback: string) =>
  z.pipe(
    z.optional(z.string()),
    z.pipe(
      z.transform((value: string | undefined) => (value === undefined ? fallback : value.trim())),
      z.string().check(z.regex(/^[\x21\x23-\x5b\x5d-\x7e]*$/, { error: 'must be one scope name (printable characters, no spaces or quotes)' })),
    ),
  )

/** An optional rate in calls per second: a positive number, whole or decimal (0.5: one call every 2 s); unset: no cap. */
const perSecond = z.pipe(
  optionalText,
  z.optional(
    z.pipe(
      z.string().check(z.regex(/^\d{1,5}(\.\d{1,3})?$/, { error: 'must be a positive number of calls per second, e.g. 14 or 0.5' })),
      z.pipe(z.transform(Number), z.number().check(z.positive({ error: 'must be above 0 (unset it for no cap)' }), z.lte(10_000))),
    ),
  ),
)

/** Every setting and its rule, stated once. */
const SETTINGS = {
  CORS_ALLOW_ORIGIN: z.pipe(optionalText, z.transform((value) => value ?? '*')),
  AUTH_ISSUER: secureUrl,
  AUTH_AUDIENCE: list,
  AUTH_JWKS_URL: secureUrl,
  AUTH_SCOPE_READ: scopeName('tasks:read'),
  AUTH_SCOPE_WRITE: scopeName('tasks:write'),
  NOTIFICATIONS_QUEUE_URL: optionalText,
  SQS_TIMEOUT_MS: wholeNumber(1, 60_000, 500),
  SQS_MAX_ATTEMPTS: wholeNumber(1, 5, 2),
  // Partition keys of the sparse outbox indexes: 32 take a peak of 10,000 task writes a second (docs/scale.md); may only grow.
  OUTBOX_SHARDS: wholeNumber(1, 256, 32),
  // Records one relay run takes, oldest first: with the relay every minute, what a backlog drains by per minute.
  OUTBOX_RELAY_BATCH: wholeNumber(1, 1000, 100),
  NOTIFY_WEBHOOK_URL: secureUrl,
  // Deployed, for a URL with credentials: the name of the SSM SecureString holding it (never the URL itself).
  NOTIFY_WEBHOOK_URL_PARAMETER: ssmParameterName,
  NOTIFY_WEBHOOK_SECRET: optionalText,
  // Deployed: the name of the SSM SecureString holding the signing secret (never the secret itself).
  NOTIFY_WEBHOOK_SECRET_PARAMETER: ssmParameterName,
  NOTIFY_WEBHOOK_TIMEOUT_MS: wholeNumber(1, 900_000, 5000),
  NOTIFY_EMAIL_TO: optionalText,
  NOTIFY_EMAIL_FROM: optionalText,
  NOTIFY_LOG: flag,
  // Read by the AWS SDK itself; listed so that `npm start` forwards it (a local SES).
  AWS_ENDPOINT_URL_SESV2: optionalUrl,
  RETRY_BASE_SECONDS: wholeNumber(0, 43_200, 60),
  RETRY_MAX_SECONDS: wholeNumber(0, 43_200, 900),
  DELIVERY_DEDUP_DAYS: wholeNumber(1, 365, 30),
  DELIVERY_RETENTION_DAYS: wholeNumber(1, 3650, 90),
  // Adaptive leveling (docs/adaptive-leveling.md): each channel's circuit breaker and rate cap.
  BREAKER_FAILURES: wholeNumber(0, 1000, 5),
  BREAKER_OPEN_SECONDS: wholeNumber(1, 86_400, 30),
  BREAKER_MAX_OPEN_SECONDS: wholeNumber(1, 86_400, 600),
  NOTIFY_WEBHOOK_MAX_PER_SECOND: perSecond,
  NOTIFY_EMAIL_MAX_PER_SECOND: perSecond,
  // Set by the sqs-queues plugin: the control queue's URL, and (for the control function) the consumer's event source mapping.
  CONSUMER_CONTROL_QUEUE_URL: optionalText,
  NOTIFICATIONS_EVENT_SOURCE_MAPPING: optionalText,
  POWERTOOLS_LOG_LEVEL: optionalText,
}
export type SettingName = keyof typeof SETTINGS
type Settings<Names extends SettingName> = { [Name in Names]: z.output<(typeof SETTINGS)[Name]> }

/** Every runtime setting's name: `npm start` forwards these from its environment to the Lambdas. */
export const SETTING_NAMES = Object.keys(SETTINGS) as SettingName[]

/** The value a setting takes when it is unset: docs/settings.md prints it as the default unless the setting's doc says it in words. */
export const settingDefault = (name: SettingName): unknown => SETTINGS[name].parse(undefined)

/**
 * What docs/settings.md says of each setting (a test fails when the page and
 * this table differ). `default` only where the rule's own default needs words;
 * a range written `min..max` is the rule's (the test checks both ends).
 */
export interface SettingDoc {
  doc: string
  default?: string
}

export const SETTING_DOCS: Record<SettingName, SettingDoc> = {
  CORS_ALLOW_ORIGIN: { doc: '`Access-Control-Allow-Origin` on every response' },
  AUTH_ISSUER: {
    default: 'the local issuer (local runs); unset: every request refused',
    doc: 'the OpenID Connect issuer whose tokens are accepted (`https`; plain `http` only on loopback)',
  },
  AUTH_AUDIENCE: {
    default: '`queue-leveling-local` (local runs with the local issuer); unset: every request refused',
    doc: "accepted audiences, comma-separated (`aud`, or `client_id` of Cognito access tokens)",
  },
  AUTH_JWKS_URL: {
    default: 'unset: OpenID discovery (local runs with the local issuer: its JWKS)',
    doc: "the issuer's JWKS, fetched once per process, again after 10 minutes and for a key it lacks (one fetch at a time, none within 30 s of the last; keys kept through failed refreshes for a day)",
  },
  AUTH_SCOPE_READ: { doc: 'the scope the `GET` routes need; set but empty: none needed' },
  AUTH_SCOPE_WRITE: { doc: 'the scope `POST`, `PUT` and `DELETE` need; set but empty: none needed' },
  NOTIFICATIONS_QUEUE_URL: {
    default: 'set by the sqs-queues plugin',
    doc: 'where the producer publishes; locally the plugin sets it (and `AWS_ENDPOINT_URL_SQS`), deployed the stack',
  },
  SQS_TIMEOUT_MS: { doc: 'connect and request timeout of each publish attempt, 1..60000' },
  SQS_MAX_ATTEMPTS: { doc: 'publish attempts, 1..5; after that the event waits in the outbox for the relay' },
  OUTBOX_SHARDS: { doc: 'partition keys the outbox indexes spread over, 1..256 (sized for 10,000 task writes a second; may only grow: [scale](scale.md))' },
  OUTBOX_RELAY_BATCH: { doc: 'pending records one relay run takes, oldest first, 1..1000: with the relay every minute, how fast a backlog drains' },
  NOTIFY_WEBHOOK_URL: { doc: 'the webhook channel, on when set (`https`; plain `http` only to a loopback address)' },
  NOTIFY_WEBHOOK_URL_PARAMETER: { doc: 'deployed: the SSM SecureString holding a webhook URL with credentials (instead of `NOTIFY_WEBHOOK_URL`; never both)' },
  NOTIFY_WEBHOOK_SECRET: { doc: 'locally: signs webhook calls when set (refused on deploy)' },
  NOTIFY_WEBHOOK_SECRET_PARAMETER: { default: 'set on deploy', doc: 'deployed: the SSM SecureString holding the signing secret' },
  NOTIFY_WEBHOOK_TIMEOUT_MS: { doc: "webhook call timeout, 1..900000; must stay below the consumer's timeout" },
  NOTIFY_EMAIL_TO: {
    doc: 'the email channel, on when set with `NOTIFY_EMAIL_FROM`: recipients, comma-separated (`a@example.com` or `Name <a@example.com>`); one of the two without the other is a settings error',
  },
  NOTIFY_EMAIL_FROM: { doc: "the email's sender (on AWS an SES-verified identity)" },
  NOTIFY_LOG: { default: '`true` locally when no other channel is set, else `false`', doc: 'the log channel: one structured line per notification' },
  AWS_ENDPOINT_URL_SESV2: {
    default: 'unset (SES of the region)',
    doc: 'where the AWS SDK sends SES calls: for `npm start`, the local SES of `npm run email -- [--port 8005]` (`aws-ses-v2-local` on 127.0.0.1 behind the local-only guard) and `http://127.0.0.1:8005` (its inbox at that address)',
  },
  RETRY_BASE_SECONDS: { doc: 'backoff of a retryable failure: base x 2^(receives-1) seconds, 0..43200 (see [the retry budget](#retry-budget))' },
  RETRY_MAX_SECONDS: { doc: 'cap of that backoff, 0..43200' },
  DELIVERY_DEDUP_DAYS: { doc: 'how long a delivery is remembered against duplicates, 1..365 (longer than queue + DLQ retention)' },
  DELIVERY_RETENTION_DAYS: { doc: 'expiry (TTL) of delivery records, 1..3650; set on AWS from `deliveryRetentionDays`' },
  BREAKER_FAILURES: {
    doc: 'different notifications failing in a row on a channel that open its breaker, 0..1000; 0: no breaker ([adaptive leveling](adaptive-leveling.md))',
  },
  BREAKER_OPEN_SECONDS: { doc: "the breaker's first open period, 1..86400" },
  BREAKER_MAX_OPEN_SECONDS: { doc: 'each failed probe doubles the period up to this, 1..86400 (not below `BREAKER_OPEN_SECONDS`)' },
  NOTIFY_WEBHOOK_MAX_PER_SECOND: { default: 'unset: no cap', doc: 'webhook calls per second over all invocations: a positive number, whole or decimal (`0.5`: one every 2 s)' },
  NOTIFY_EMAIL_MAX_PER_SECOND: { default: 'unset: no cap', doc: "SES sends per second over all invocations (e.g. the account's send rate)" },
  CONSUMER_CONTROL_QUEUE_URL: {
    default: 'set by the sqs-queues plugin',
    doc: 'where the consumer asks to be paused or resumed (the `consumer-control` queue)',
  },
  NOTIFICATIONS_EVENT_SOURCE_MAPPING: {
    default: 'set by the sqs-queues plugin',
    doc: "the UUID of the consumer's event source mapping, for the control function (locally with `AWS_ENDPOINT_URL_LAMBDA`, the plugin's Lambda API)",
  },
  POWERTOOLS_LOG_LEVEL: { default: '`INFO`', doc: 'log level of the Lambdas' },
}

export class SettingsError extends Error {
  override readonly name = 'SettingsError'
  readonly problems: string[]

  constructor(problems: string[]) {
    super(`Invalid settings: ${problems.join(', ')}`)
    this.problems = problems
  }
}

/** Parses the named settings: their values, or every problem among them (and only them). */
function parse<Names extends SettingName>(env: NodeJS.ProcessEnv, names: readonly Names[]): { settings?: Settings<Names>; problems: string[] } {
  const shape = Object.fromEntries(names.map((name) => [name, SETTINGS[name]])) as { [Name in Names]: (typeof SETTINGS)[Name] }
  const parsed = z.object(shape).safeParse(env)
  if (parsed.success) return { settings: parsed.data as Settings<Names>, problems: [] }
  return { problems: parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`) }
}

/** Reads the named settings; throws one SettingsError naming every problem among them. */
function read<Names extends SettingName>(env: NodeJS.ProcessEnv, names: readonly Names[]): Settings<Names> {
  const { settings, problems } = parse(env, names)
  if (!settings) throw new SettingsError(problems)
  return settings
}

export interface WebhookSettings {
  /** The URL itself, from the environment: a local run, or a deployed URL without credentials. */
  url: string | undefined
  /** The SSM SecureString holding the URL, read at run time: a deployed URL with credentials. */
  urlParameter?: string | undefined
  /** The signing secret itself, from the environment: a local run. */
  secret: string | undefined
  /** The SSM SecureString holding the signing secret, read at run time: a deployed stage. */
  secretParameter: string | undefined
  timeoutMs: number
}

export interface EmailSettings {
  /** SES recipients: `address` or `Name <address>`, one or more. */
  to: string[]
  from: string
}

export interface SqsSettings {
  timeoutMs: number
  maxAttempts: number
}

export interface AuthSettings {
  /** The OpenID Connect issuer whose tokens are accepted; none: every request is refused. */
  issuer: string | undefined
  /** Accepted `aud` (or Cognito's `client_id`) values. */
  audiences: string[]
  /** The issuer's JWKS; unset: found by OpenID discovery. */
  jwksUrl: string | undefined
  /** The scope each kind of route needs; an empty name needs none. */
  scopes: { read: string; write: string }
}

/** Every authenticated route: whose tokens it accepts and which scopes it needs. */
export function readAuthSettings(env: NodeJS.ProcessEnv = process.env): AuthSettings {
  const settings = read(env, ['AUTH_ISSUER', 'AUTH_AUDIENCE', 'AUTH_JWKS_URL', 'AUTH_SCOPE_READ', 'AUTH_SCOPE_WRITE'])
  return {
    issuer: settings.AUTH_ISSUER,
    audiences: settings.AUTH_AUDIENCE,
    jwksUrl: settings.AUTH_JWKS_URL,
    scopes: { read: settings.AUTH_SCOPE_READ, write: settings.AUTH_SCOPE_WRITE },
  }
}

/** Every HTTP route: the CORS headers of its responses. */
export function readHttpSettings(env: NodeJS.ProcessEnv = process.env): { corsAllowOrigin: string } {
  return { corsAllowOrigin: read(env, ['CORS_ALLOW_ORIGIN']).CORS_ALLOW_ORIGIN }
}

const sqsSettings = (settings: Settings<'SQS_TIMEOUT_MS' | 'SQS_MAX_ATTEMPTS'>): SqsSettings => ({
  timeoutMs: settings.SQS_TIMEOUT_MS,
  maxAttempts: settings.SQS_MAX_ATTEMPTS,
})

/** How many shards the sparse outbox indexes spread over: whatever writes a task's outbox or reads those indexes (the app, `npm run outbox`). */
export function readOutboxShards(env: NodeJS.ProcessEnv = process.env): number {
  return read(env, ['OUTBOX_SHARDS']).OUTBOX_SHARDS
}

/** How many pending records one run of the scheduled relay takes. */
export function readRelayBatch(env: NodeJS.ProcessEnv = process.env): number {
  return read(env, ['OUTBOX_RELAY_BATCH']).OUTBOX_RELAY_BATCH
}

/** The functions that write tasks and publish their events (the write routes, the relay). */
export function readProducerSettings(env: NodeJS.ProcessEnv = process.env): { notificationsQueueUrl: string; sqs: SqsSettings; outboxShards: number } {
  const settings = read(env, ['NOTIFICATIONS_QUEUE_URL', 'SQS_TIMEOUT_MS', 'SQS_MAX_ATTEMPTS', 'OUTBOX_SHARDS'])
  if (!settings.NOTIFICATIONS_QUEUE_URL) throw new SettingsError(['NOTIFICATIONS_QUEUE_URL: is not set'])
  return { notificationsQueueUrl: settings.NOTIFICATIONS_QUEUE_URL, sqs: sqsSettings(settings), outboxShards: settings.OUTBOX_SHARDS }
}

export interface ConsumerSettings {
  webhook: WebhookSettings | undefined
  email: EmailSettings | undefined
  /** The log channel: one structured line per notification. */
  log: boolean
  notificationsQueueUrl: string | undefined
  sqs: SqsSettings
  retry: { baseSeconds: number; maxSeconds: number }
  deliveryDedupDays: number
  deliveryRetentionDays: number
  leveling: LevelingSettings
}

export interface LevelingSettings {
  breaker: {
    /** BREAKER_FAILURES: different notifications failing in a row that open a channel's breaker; 0: no breaker. */
    failures: number
    openSeconds: number
    maxOpenSeconds: number
  }
  /** NOTIFY_<CHANNEL>_MAX_PER_SECOND: a channel without one is not capped. */
  maxPerSecond: { webhook?: number; email?: number }
  /** Where the consumer tells the control function to pause or resume it (CONSUMER_CONTROL_QUEUE_URL). */
  controlQueueUrl: string | undefined
}

const LEVELING_SETTINGS = [
  'BREAKER_FAILURES',
  'BREAKER_OPEN_SECONDS',
  'BREAKER_MAX_OPEN_SECONDS',
  'NOTIFY_WEBHOOK_MAX_PER_SECOND',
  'NOTIFY_EMAIL_MAX_PER_SECOND',
  'CONSUMER_CONTROL_QUEUE_URL',
] as const satisfies SettingName[]

/** The breaker's periods must make sense together; pushed to `problems`, beside any other. */
function levelingSettings(settings: Settings<(typeof LEVELING_SETTINGS)[number]>, problems: string[]): LevelingSettings {
  if (settings.BREAKER_MAX_OPEN_SECONDS < settings.BREAKER_OPEN_SECONDS) {
    problems.push(`BREAKER_MAX_OPEN_SECONDS: ${settings.BREAKER_MAX_OPEN_SECONDS} must be at least BREAKER_OPEN_SECONDS (${settings.BREAKER_OPEN_SECONDS})`)
  }
  return {
    breaker: { failures: settings.BREAKER_FAILURES, openSeconds: settings.BREAKER_OPEN_SECONDS, maxOpenSeconds: settings.BREAKER_MAX_OPEN_SECONDS },
    maxPerSecond: {
      ...(settings.NOTIFY_WEBHOOK_MAX_PER_SECOND !== undefined && { webhook: settings.NOTIFY_WEBHOOK_MAX_PER_SECOND }),
      ...(settings.NOTIFY_EMAIL_MAX_PER_SECOND !== undefined && { email: settings.NOTIFY_EMAIL_MAX_PER_SECOND }),
    },
    controlQueueUrl: settings.CONSUMER_CONTROL_QUEUE_URL,
  }
}

const ADDRESS = /^[^\s@<>,]+@[^\s@<>,]+\.[^\s@<>,]+$/
/** The address of `a@example.com` or `Name <a@example.com>`, as SES takes them. */
export const emailAddressOf = (entry: string): string => /^[^<>]*<([^<>]*)>$/.exec(entry.trim())?.[1] ?? entry.trim()
/** A comma would split the list, so no name may hold one. */
const isEmailAddress = (entry: string): boolean => ADDRESS.test(emailAddressOf(entry))

/** Both email settings or neither: half of them is a mistake to report, not a channel silently off. */
function emailSettings(to: string | undefined, from: string | undefined, problems: string[]): EmailSettings | undefined {
  if (to === undefined && from === undefined) return undefined
  if (to === undefined) problems.push('NOTIFY_EMAIL_TO: must be set together with NOTIFY_EMAIL_FROM')
  if (from === undefined) problems.push('NOTIFY_EMAIL_FROM: must be set together with NOTIFY_EMAIL_TO')
  const recipients = (to ?? '').split(',').map((entry) => entry.trim()).filter(Boolean)
  const badRecipients = recipients.filter((entry) => !isEmailAddress(entry))
  if (to !== undefined && recipients.length === 0) problems.push('NOTIFY_EMAIL_TO: needs at least one address')
  if (badRecipients.length) problems.push(`NOTIFY_EMAIL_TO: not an email address: ${badRecipients.join(', ')}`)
  if (from !== undefined && !isEmailAddress(from)) problems.push(`NOTIFY_EMAIL_FROM: not an email address: ${from}`)
  return to !== undefined && from !== undefined ? { to: recipients, from } : undefined
}

/** The notification consumer: its channels, backoff and delivery records. */
export function readConsumerSettings(env: NodeJS.ProcessEnv = process.env): ConsumerSettings {
  const { settings, problems } = parse(env, [
    'NOTIFY_WEBHOOK_URL',
    'NOTIFY_WEBHOOK_URL_PARAMETER',
    'NOTIFY_WEBHOOK_SECRET',
    'NOTIFY_WEBHOOK_SECRET_PARAMETER',
    'NOTIFY_WEBHOOK_TIMEOUT_MS',
    'NOTIFY_EMAIL_TO',
    'NOTIFY_EMAIL_FROM',
    'NOTIFY_LOG',
    'AWS_ENDPOINT_URL_SESV2',
    'NOTIFICATIONS_QUEUE_URL',
    'SQS_TIMEOUT_MS',
    'SQS_MAX_ATTEMPTS',
    'RETRY_BASE_SECONDS',
    'RETRY_MAX_SECONDS',
    'DELIVERY_DEDUP_DAYS',
    'DELIVERY_RETENTION_DAYS',
    ...LEVELING_SETTINGS,
  ])
  const text = (value: string | undefined): string | undefined => value?.trim() || undefined
  // Checked on the raw values too, so that one report names these beside any other problem.
  const email = emailSettings(text(env.NOTIFY_EMAIL_TO), text(env.NOTIFY_EMAIL_FROM), problems)
  // Two sources of one secret: which one signs would be a guess, and a plaintext copy beside SSM is the leak SSM is there to end.
  if (text(env.NOTIFY_WEBHOOK_SECRET) && text(env.NOTIFY_WEBHOOK_SECRET_PARAMETER)) {
    problems.push('NOTIFY_WEBHOOK_SECRET: must not be set together with NOTIFY_WEBHOOK_SECRET_PARAMETER (the secret comes from one of them: the environment locally, SSM deployed)')
  }
  if (text(env.NOTIFY_WEBHOOK_URL) && text(env.NOTIFY_WEBHOOK_URL_PARAMETER)) {
    problems.push('NOTIFY_WEBHOOK_URL: must not be set together with NOTIFY_WEBHOOK_URL_PARAMETER (the URL comes from one of them: the environment, or SSM for a URL with credentials)')
  }
  const leveling = settings && levelingSettings(settings, problems)
  if (!settings || !leveling || problems.length) throw new SettingsError(problems)
  return {
    webhook:
      settings.NOTIFY_WEBHOOK_URL || settings.NOTIFY_WEBHOOK_URL_PARAMETER
        ? {
            url: settings.NOTIFY_WEBHOOK_URL,
            urlParameter: settings.NOTIFY_WEBHOOK_URL_PARAMETER,
            secret: settings.NOTIFY_WEBHOOK_SECRET,
            secretParameter: settings.NOTIFY_WEBHOOK_SECRET_PARAMETER,
            timeoutMs: settings.NOTIFY_WEBHOOK_TIMEOUT_MS,
          }
        : undefined,
    email,
    log: settings.NOTIFY_LOG,
    notificationsQueueUrl: settings.NOTIFICATIONS_QUEUE_URL,
    sqs: sqsSettings(settings),
    retry: { baseSeconds: settings.RETRY_BASE_SECONDS, maxSeconds: settings.RETRY_MAX_SECONDS },
    deliveryDedupDays: settings.DELIVERY_DEDUP_DAYS,
    deliveryRetentionDays: settings.DELIVERY_RETENTION_DAYS,
    leveling,
  }
}

/** The breakers' settings, the rate caps and the control queue alone (an operator's tool reads the breakers with them). */
export function readLevelingSettings(env: NodeJS.ProcessEnv = process.env): LevelingSettings {
  const problems: string[] = []
  const leveling = levelingSettings(read(env, LEVELING_SETTINGS), problems)
  if (problems.length) throw new SettingsError(problems)
  return leveling
}

/** The consumer-control function: the breakers' settings, its own queue, and the consumer's event source mapping to switch. */
export function readControlSettings(env: NodeJS.ProcessEnv = process.env): LevelingSettings & { mappingUuid: string; sqs: SqsSettings } {
  const problems: string[] = []
  const settings = read(env, [...LEVELING_SETTINGS, 'NOTIFICATIONS_EVENT_SOURCE_MAPPING', 'SQS_TIMEOUT_MS', 'SQS_MAX_ATTEMPTS'])
  const leveling = levelingSettings(settings, problems)
  if (!settings.NOTIFICATIONS_EVENT_SOURCE_MAPPING) problems.push('NOTIFICATIONS_EVENT_SOURCE_MAPPING: is not set (the sqs-queues plugin sets it)')
  if (!settings.CONSUMER_CONTROL_QUEUE_URL) problems.push('CONSUMER_CONTROL_QUEUE_URL: is not set (the sqs-queues plugin sets it)')
  if (problems.length) throw new SettingsError(problems)
  return { ...leveling, mappingUuid: settings.NOTIFICATIONS_EVENT_SOURCE_MAPPING ?? '', sqs: sqsSettings(settings) }
}

/** True when the consumer has a channel other than the log (the local log default stays off then). */
export function hasDeliveryChannel(env: NodeJS.ProcessEnv): boolean {
  return Boolean(env.NOTIFY_WEBHOOK_URL?.trim() || env.NOTIFY_WEBHOOK_URL_PARAMETER?.trim() || env.NOTIFY_EMAIL_TO?.trim() || env.NOTIFY_EMAIL_FROM?.trim())
}

/**
 * Every setting at once, for the checks made before anything runs (`npm start`,
 * `npx arc sandbox`, deploy): throws one SettingsError naming every problem.
 * The queue URL is the plugin's to set, so its absence is not a problem here.
 */
export function validateSettings(env: NodeJS.ProcessEnv): void {
  const problems: string[] = []
  for (const reader of [readHttpSettings, readAuthSettings, readConsumerSettings, () => read(env, SETTING_NAMES)]) {
    try {
      reader(env)
    } catch (error) {
      if (!(error instanceof SettingsError)) throw error
      for (const problem of error.problems) if (!problems.includes(problem)) problems.push(problem)
    }
  }
  if (problems.length) throw new SettingsError(problems)
}
