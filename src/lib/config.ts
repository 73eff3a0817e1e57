import { z } from 'zod'

/**
 * The one reader of the app's runtime settings. Every setting is documented in
 * the README's settings table; the queue's own keys live in app.arc instead.
 */
const optionalText = z
  .string()
  .trim()
  .transform((value) => (value === '' ? undefined : value))
  .optional()

/** An optional whole-number setting; empty counts as unset. */
const wholeNumber = (min: number, max: number, fallback: number) =>
  z.preprocess((value) => (value === '' ? undefined : value), z.coerce.number().int().min(min).max(max).default(fallback))

const settingsSchema = z.object({
  CORS_ALLOW_ORIGIN: optionalText.transform((value) => value ?? '*'),
  NOTIFICATIONS_QUEUE_URL: optionalText,
  NOTIFY_WEBHOOK_URL: optionalText.pipe(z.url().optional()),
  NOTIFY_WEBHOOK_SECRET: optionalText,
  NOTIFY_WEBHOOK_TIMEOUT_MS: wholeNumber(1, 900_000, 5000),
  SQS_TIMEOUT_MS: wholeNumber(1, 60_000, 400),
  SQS_MAX_ATTEMPTS: wholeNumber(1, 5, 2),
})

/** Every runtime setting's name: `npm start` forwards these from its environment to the Lambdas. */
export const SETTING_NAMES = Object.keys(settingsSchema.shape)

export interface WebhookSettings {
  url: string
  secret: string | undefined
  timeoutMs: number
}

export interface AppConfig {
  corsAllowOrigin: string
  notificationsQueueUrl: string | undefined
  webhook: WebhookSettings | undefined
  sqs: { timeoutMs: number; maxAttempts: number }
}

export function readConfig(env: NodeJS.ProcessEnv = process.env): AppConfig {
  const parsed = settingsSchema.safeParse(env)
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`)
    throw new Error(`Invalid settings: ${problems.join(', ')}`)
  }
  const settings = parsed.data
  return {
    corsAllowOrigin: settings.CORS_ALLOW_ORIGIN,
    notificationsQueueUrl: settings.NOTIFICATIONS_QUEUE_URL,
    webhook: settings.NOTIFY_WEBHOOK_URL
      ? { url: settings.NOTIFY_WEBHOOK_URL, secret: settings.NOTIFY_WEBHOOK_SECRET, timeoutMs: settings.NOTIFY_WEBHOOK_TIMEOUT_MS }
      : undefined,
    sqs: { timeoutMs: settings.SQS_TIMEOUT_MS, maxAttempts: settings.SQS_MAX_ATTEMPTS },
  }
}
