import { SendEmailCommand, SESv2Client, type SendEmailCommandOutput } from '@aws-sdk/client-sesv2'
import type { EmailSettings } from '../config.ts'
import { retryAfterMoment } from '../leveling/retry-after.ts'
import { lazy } from '../lazy.ts'
import { logger } from '../log.ts'
import { DeliveryFailedError, type Channel } from '../notifications/channel.ts'
import type { Notification } from '../notifications/notification.ts'
import { traced } from '../tracing.ts'

/** The one SES call this channel makes: what a test puts in place of the SDK client. */
export interface EmailSender {
  send(command: SendEmailCommand): Promise<SendEmailCommandOutput>
}

/*
 * SES answers in well under a second. Two attempts of at most 1 s to connect
 * and 4 s to answer keep a hung or unreachable endpoint at about 10 s, inside
 * the consumer's 30 s timeout; beyond that the consumer's own backoff retries.
 */
const SES_MAX_ATTEMPTS = 2
const SES_CONNECT_TIMEOUT_MS = 1000
const SES_REQUEST_TIMEOUT_MS = 4000
/** The longest one send may take, every attempt timing out: what a rate slot must leave of an invocation. */
export const SES_CALL_BUDGET_MS = SES_MAX_ATTEMPTS * (SES_CONNECT_TIMEOUT_MS + SES_REQUEST_TIMEOUT_MS)

let client: (() => Promise<SESv2Client>) | undefined

/**
 * One SES v2 client per container, traced when the function traces
 * (tracing.ts); the endpoint comes from AWS_ENDPOINT_URL_SESV2 when set (a
 * local SES), else from the region. Made inside a function, not at module
 * level: the bundler can then drop it, and the SES SDK with it, from the
 * functions that never send email.
 */
export function sesClient(): Promise<SESv2Client> {
  client ??= lazy(async () =>
    traced(
      new SESv2Client({
        maxAttempts: SES_MAX_ATTEMPTS,
        requestHandler: { connectionTimeout: SES_CONNECT_TIMEOUT_MS, requestTimeout: SES_REQUEST_TIMEOUT_MS, throwOnRequestTimeout: true },
      }),
    ),
  )
  return client()
}

/** Refusals that pass once the sending rate drops: the next try, after a backoff, is likely to be accepted. */
const THROTTLING = new Set([
  // Requests arrive faster than the account's sending rate.
  'TooManyRequestsException',
  // A limit of the account is reached (for sending, a quota); quotas refill, so a later try can pass.
  'LimitExceededException',
  // The AWS-wide throttling error any API may answer.
  'ThrottlingException',
])

/** Refusals that the same request gets again however often it is retried: they go to the DLQ without waiting. */
const PERMANENT = new Set([
  // SES refused this message (its content, or a recipient not verified while the account is in the SES sandbox): it would again.
  'MessageRejected',
  // The sender's MAIL FROM domain is not verified: configuration, which no retry fixes.
  'MailFromDomainNotVerifiedException',
  // The request itself is invalid (an address, a header): the same request stays invalid.
  'BadRequestException',
  // Something the request names (an identity, a configuration set) does not exist.
  'NotFoundException',
  // AWS stopped the account from sending: only a person can lift it, so retries would only burn receives.
  'AccountSuspendedException',
  // Sending is paused for the account or its configuration set, deliberately, until someone resumes it.
  'SendingPausedException',
])

const TIMEOUTS = new Set(['TimeoutError', 'RequestTimeout', 'RequestTimeoutException', 'AbortError'])

interface SdkError {
  name?: string
  message?: string
  $fault?: 'client' | 'server'
  $metadata?: { httpStatusCode?: number }
  /** The raw answer, when there was one: a throttled SES may say when to come back (Retry-After). */
  $response?: { headers?: Record<string, string | undefined> }
}

/**
 * Maps an SES or network error to a DeliveryFailedError that says whether a
 * later try may pass; a throttling refusal carries the moment its
 * Retry-After asked for, if SES sent one (the breaker then waits until then).
 */
export function toDeliveryFailure(error: unknown, now: number = Date.now()): DeliveryFailedError {
  const sdkError: SdkError = typeof error === 'object' && error !== null ? (error as SdkError) : {}
  const name = sdkError.name ?? 'Error'
  const status = sdkError.$metadata?.httpStatusCode
  const reason = `SES ${name}${status ? ` (${status})` : ''}: ${sdkError.message ?? String(error)}`
  if (THROTTLING.has(name)) return new DeliveryFailedError(reason, true, retryAfterMoment(sdkError.$response?.headers?.['retry-after'], now))
  if (PERMANENT.has(name)) return new DeliveryFailedError(reason, false)
  if (TIMEOUTS.has(name)) return new DeliveryFailedError(reason, true)
  // No HTTP status at all: SES was not reached (refused, reset, DNS), which passes when the network does.
  if (status === undefined) return new DeliveryFailedError(reason, true)
  if (status >= 500 || status === 408 || status === 429 || sdkError.$fault === 'server') return new DeliveryFailedError(reason, true)
  // Any other 4xx (e.g. AccessDenied) is about the request or the account, not about timing.
  return new DeliveryFailedError(reason, false)
}

/** Sends the notification as a plain-text email through SES v2 SendEmail. */
export class SesEmailChannel implements Channel {
  readonly name = 'email'

  readonly #settings: EmailSettings
  readonly #sender: () => EmailSender | Promise<EmailSender>

  constructor(settings: EmailSettings, sender: () => EmailSender | Promise<EmailSender> = sesClient) {
    this.#settings = settings
    this.#sender = sender
  }

  async deliver(notification: Notification): Promise<void> {
    const command = new SendEmailCommand({
      FromEmailAddress: this.#settings.from,
      Destination: { ToAddresses: this.#settings.to },
      Content: {
        Simple: {
          // A title may hold a line break, which a mail header cannot: SES would refuse the message for ever.
          Subject: { Data: notification.subject.replace(/[\r\n]+/g, ' '), Charset: 'UTF-8' },
          Body: { Text: { Data: notification.text, Charset: 'UTF-8' } },
          // As on the webhook: lets a receiver drop the rare second copy of the same notification.
          Headers: [
            { Name: 'X-Notification-Id', Value: notification.id },
            { Name: 'X-Notification-Event', Value: notification.event },
          ],
        },
      },
    })
    let output: SendEmailCommandOutput
    try {
      // Inside the try: a client that could not be made is a failure to reach SES, which a later try may pass.
      output = await (await this.#sender()).send(command)
    } catch (error) {
      throw toDeliveryFailure(error)
    }
    // SES's message id is what its own logs and bounce reports name: the link to the downstream.
    logger.info('Email sent', { notificationId: notification.id, taskId: notification.taskId, sesMessageId: output.MessageId })
  }
}
