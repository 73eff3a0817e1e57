import * as z from 'zod/mini'

/**
 * The one reader of the app's runtime settings. Every setting is documented in
 * the README's settings table; the queue's own keys live in app.arc instead.
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

const settingsSchema = z.object({
  CORS_ALLOW_ORIGIN: z.pipe(optionalText, z.transform((value) => value ?? '*')),
  NOTIFICATIONS_QUEUE_URL: optionalText,
  NOTIFY_WEBHOOK_URL: z.pipe(optionalText, z.optional(z.url())),
  NOTIFY_WEBHOOK_SECRET: optionalText,
  NOTIFY_WEBHOOK_TIMEOUT_MS: wholeNumber(1, 900_000, 5000),
  NOTIFY_EMAIL_TO: optionalText,
  NOTIFY_EMAIL_FROM: optionalText,
  // Read by the AWS SDK itself; listed so that `npm start` forwards it (a local SES).
  AWS_ENDPOINT_URL_SESV2: z.pipe(optionalText, z.optional(z.url())),
  SQS_TIMEOUT_MS: wholeNumber(1, 60_000, 500),
  SQS_MAX_ATTEMPTS: wholeNumber(1, 5, 2),
  RETRY_BASE_SECONDS: wholeNumber(0, 43_200, 20),
  RETRY_MAX_SECONDS: wholeNumber(0, 43_200, 900),
  DELIVERY_DEDUP_DAYS: wholeNumber(1, 365, 30),
  DELIVERY_RETENTION_DAYS: wholeNumber(1, 3650, 90),
  POWERTOOLS_LOG_LEVEL: optionalText,
})

/** Every runtime setting's name: `npm start` forwards these from its environment to the Lambdas. */
export const SETTING_NAMES = Object.keys(settingsSchema.shape)

export interface WebhookSettings {
  url: string
  secret: string | undefined
  timeoutMs: number
}

export interface EmailSettings {
  /** SES recipients: `address` or `Name <address>`, one or more. */
  to: string[]
  from: string
}

export interface AppConfig {
  corsAllowOrigin: string
  notificationsQueueUrl: string | undefined
  webhook: WebhookSettings | undefined
  email: EmailSettings | undefined
  sqs: { timeoutMs: number; maxAttempts: number }
  retry: { baseSeconds: number; maxSeconds: number }
  deliveryDedupDays: number
  deliveryRetentionDays: number
}

const ADDRESS = /^[^\s@<>,]+@[^\s@<>,]+\.[^\s@<>,]+$/
/** `a@example.com` or `Name <a@example.com>`, as SES takes them; a comma would split the list, so no name may hold one. */
const isEmailAddress = (entry: string): boolean => ADDRESS.test(/^[^<>]*<([^<>]*)>$/.exec(entry)?.[1] ?? entry)

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

export function readConfig(env: NodeJS.ProcessEnv = process.env): AppConfig {
  const parsed = settingsSchema.safeParse(env)
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`)
    throw new Error(`Invalid settings: ${problems.join(', ')}`)
  }
  const settings = parsed.data
  const problems: string[] = []
  const email = emailSettings(settings.NOTIFY_EMAIL_TO, settings.NOTIFY_EMAIL_FROM, problems)
  if (problems.length) throw new Error(`Invalid settings: ${problems.join(', ')}`)
  return {
    corsAllowOrigin: settings.CORS_ALLOW_ORIGIN,
    notificationsQueueUrl: settings.NOTIFICATIONS_QUEUE_URL,
    webhook: settings.NOTIFY_WEBHOOK_URL
      ? { url: settings.NOTIFY_WEBHOOK_URL, secret: settings.NOTIFY_WEBHOOK_SECRET, timeoutMs: settings.NOTIFY_WEBHOOK_TIMEOUT_MS }
      : undefined,
    email,
    sqs: { timeoutMs: settings.SQS_TIMEOUT_MS, maxAttempts: settings.SQS_MAX_ATTEMPTS },
    retry: { baseSeconds: settings.RETRY_BASE_SECONDS, maxSeconds: settings.RETRY_MAX_SECONDS },
    deliveryDedupDays: settings.DELIVERY_DEDUP_DAYS,
    deliveryRetentionDays: settings.DELIVERY_RETENTION_DAYS,
  }
}
