import { createHmac } from 'node:crypto'
import type { WebhookSettings } from '../config.ts'
import { retryAfterMoment } from '../leveling/retry-after.ts'
import { warmUpFetch } from './fetch-warm-up.ts'
import { DeliveryFailedError, type Channel } from '../notifications/channel.ts'
import type { Notification } from '../notifications/notification.ts'
import { insecureUrlReason, runsOnLambda } from '../secure-url.ts'
import { traceRemoteCall } from '../tracing.ts'

/** `sha256=<hex HMAC-SHA256 of "<timestamp>.<raw body>">`: the timestamp lets receivers refuse replays. */
export function webhookSignature(secret: string, timestamp: string, rawBody: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${rawBody}`).digest('hex')}`
}

/**
 * Where a value the channel must not hold in its environment on a deployed
 * stage comes from, so that the channel knows no secret store: the
 * environment locally, SSM on a deployed stage. A source that cannot read its
 * value now throws, and then nothing is sent.
 */
export interface SecretValue<T> {
  current(): Promise<T>
}

/** The signing secret; `undefined`: none is configured and requests go unsigned. */
export type SigningSecret = SecretValue<string | undefined>
/** The URL to POST to, which may carry credentials (userinfo, a token in its query). */
export type WebhookUrl = SecretValue<string>

/** A secret known when the function starts (NOTIFY_WEBHOOK_SECRET), or none. */
export const fixedSigningSecret = (secret: string | undefined): SigningSecret => ({ current: async () => secret })
/** A URL known when the function starts (NOTIFY_WEBHOOK_URL). */
export const fixedWebhookUrl = (url: string): WebhookUrl => ({ current: async () => url })

/**
 * How much of an answer's body is read: nothing in it matters, but reading a
 * short one to its end lets the connection be reused; a longer or slower one
 * is cut off, so a downstream that streams without end cannot hold the consumer.
 */
const MAX_BODY_BYTES = 4096
const MAX_BODY_MS = 1000

const isRetryableStatus = (status: number): boolean => status === 408 || status === 429 || status >= 500

/** When a 429 or 503 asks to be called again (its Retry-After: seconds or an HTTP date), epoch ms; other answers ask nothing. */
const askedRetryAt = (response: Response): number | undefined =>
  response.status === 429 || response.status === 503 ? retryAfterMoment(response.headers.get('retry-after'), Date.now()) : undefined

/**
 * Why a request did not get an answer, in words that cannot carry the URL:
 * fetch's own messages may quote it, and a webhook URL may hold credentials
 * or a token in its path, so only error names and codes are kept.
 */
function unreachedReason(error: unknown, timeoutMs: number): string {
  if (error instanceof Error && error.name === 'TimeoutError') return `timed out after ${timeoutMs} ms`
  const cause = error instanceof Error ? (error.cause as { code?: unknown; name?: unknown } | undefined) : undefined
  const code = typeof cause?.code === 'string' ? cause.code : typeof cause?.name === 'string' ? cause.name : error instanceof Error ? error.name : 'unknown error'
  return `not reached (${code})`
}

/**
 * The URL fetch is given and the Basic credentials the configured URL carried:
 * fetch refuses a URL with `user:pass@` (quoting it in its error), so they go
 * in the Authorization header instead, as curl sends them.
 */
function requestTarget(configured: string): { url: URL; authorization: string | undefined } {
  let url: URL
  try {
    url = new URL(configured)
  } catch {
    throw new DeliveryFailedError('Webhook URL is not a valid URL', false)
  }
  // Checked again here, not only when the settings are read (a URL from SSM is read only now): nothing
  // plain-http leaves this machine, and on Lambda nothing goes to loopback, where its runtime API listens.
  const insecure = insecureUrlReason(url, { onLambda: runsOnLambda() })
  if (insecure) throw new DeliveryFailedError(`Webhook URL refused: ${insecure}`, false)
  if (!url.username && !url.password) return { url, authorization: undefined }
  let credentials: string
  try {
    credentials = `${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`
  } catch {
    throw new DeliveryFailedError('Webhook URL credentials are not valid percent-encoding', false)
  }
  url.username = ''
  url.password = ''
  return { url, authorization: `Basic ${Buffer.from(credentials, 'utf8').toString('base64')}` }
}

/** Reads at most MAX_BODY_BYTES for at most MAX_BODY_MS, then lets the rest go (the connection with it). */
async function discardBody(response: Response): Promise<void> {
  if (!response.body) return
  const reader = response.body.getReader()
  // Cancelling ends a pending read with `done`: a body that trickles stops here too.
  const cutOff = setTimeout(() => void reader.cancel().catch(() => undefined), MAX_BODY_MS)
  try {
    let read = 0
    while (read < MAX_BODY_BYTES) {
      const chunk = await reader.read()
      if (chunk.done) return
      read += chunk.value.byteLength
    }
  } catch {
    // A body cut off by the downstream or by the timeout: the status is what counts.
  } finally {
    clearTimeout(cutOff)
    await reader.cancel().catch(() => undefined)
  }
}

/** Why a source could not be read: its own message, which names the parameter and the reason, never the value. */
const unreadReason = (error: unknown): string => (error instanceof Error ? error.message : String(error))

/**
 * POSTs the notification as JSON, signed when a secret is configured; a 2xx
 * within the timeout is a delivery. Redirects are not followed: a 3xx is a
 * failure no retry changes. The URL appears in no error message, since those
 * reach the logs. The URL comes from `url` (SSM on a deployed stage whose URL
 * carries credentials), else from the settings.
 */
export class WebhookChannel implements Channel {
  readonly name = 'webhook'

  readonly #settings: WebhookSettings
  readonly #secret: SigningSecret
  readonly #url: WebhookUrl

  constructor(settings: WebhookSettings, secret: SigningSecret, url?: WebhookUrl) {
    const source = url ?? (settings.url ? fixedWebhookUrl(settings.url) : undefined)
    if (!source) throw new Error('WebhookChannel: no URL (NOTIFY_WEBHOOK_URL) and no source of one')
    this.#settings = settings
    this.#secret = secret
    this.#url = source
  }

  async warm(): Promise<void> {
    await Promise.allSettled([this.#url.current(), this.#secret.current(), warmUpFetch()])
  }

  async deliver(notification: Notification): Promise<void> {
    let configured: string
    try {
      configured = await this.#url.current()
    } catch (error) {
      throw new DeliveryFailedError(`Webhook not sent: its URL could not be read (${unreadReason(error)})`, true)
    }
    const { url, authorization } = requestTarget(configured)
    let secret: string | undefined
    try {
      secret = await this.#secret.current()
    } catch (error) {
      // Never an unsigned POST in its place: the receiver would rightly refuse it, or wrongly trust it.
      throw new DeliveryFailedError(`Webhook not sent: the signing secret could not be read (${unreadReason(error)})`, true)
    }
    const body = JSON.stringify(notification)
    const headers: Record<string, string> = {
      'Content-Type': 'application/json',
      'X-Notification-Id': notification.id,
      'X-Notification-Event': notification.event,
    }
    if (authorization) headers.Authorization = authorization
    if (secret) {
      const timestamp = String(Math.floor(Date.now() / 1000))
      headers['X-Signature-Timestamp'] = timestamp
      headers['X-Signature-256'] = webhookSignature(secret, timestamp, body)
    }
    // A subsegment named after the host alone when the function traces: the URL's path may hold a token.
    await traceRemoteCall(url, 'POST', async (record) => {
      let response: Response
      try {
        response = await fetch(url, {
          method: 'POST',
          headers,
          body,
          redirect: 'manual',
          signal: AbortSignal.timeout(this.#settings.timeoutMs),
        })
      } catch (error) {
        throw new DeliveryFailedError(`Webhook ${unreachedReason(error, this.#settings.timeoutMs)}`, true)
      }
      record.status(response.status)
      await discardBody(response)
      if (response.status >= 300 && response.status < 400) {
        // Following one would send the signed notification somewhere nobody configured.
        throw new DeliveryFailedError(`Webhook answered ${response.status}, a redirect (not followed)`, false)
      }
      if (!response.ok) {
        const retryAt = askedRetryAt(response)
        const asked = retryAt === undefined ? '' : `, Retry-After ${Math.round((retryAt - Date.now()) / 1000)} s`
        throw new DeliveryFailedError(`Webhook answered ${response.status}${asked}`, isRetryableStatus(response.status), retryAt)
      }
    })
  }
}
