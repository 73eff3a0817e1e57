import { createHmac } from 'node:crypto'
import type { WebhookSettings } from '../config.ts'
import { DeliveryFailedError, type Channel } from '../notifications/channel.ts'
import type { Notification } from '../notifications/notification.ts'

/** `sha256=<hex HMAC-SHA256 of "<timestamp>.<raw body>">`: the timestamp lets receivers refuse replays. */
export function webhookSignature(secret: string, timestamp: string, rawBody: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${rawBody}`).digest('hex')}`
}

/**
 * Where the signing secret comes from, so that the channel knows no secret
 * store: the environment locally, SSM on a deployed stage. `undefined` means
 * no secret is configured and requests go unsigned; a source that has a secret
 * but cannot read it now throws, and then nothing is sent.
 */
export interface SigningSecret {
  current(): Promise<string | undefined>
}

/** A secret known when the function starts (NOTIFY_WEBHOOK_SECRET), or none. */
export const fixedSigningSecret = (secret: string | undefined): SigningSecret => ({ current: async () => secret })

const isRetryableStatus = (status: number): boolean => status === 408 || status === 429 || status >= 500

/** POSTs the notification as JSON, signed when a secret is configured; a 2xx within the timeout is a delivery. */
export class WebhookChannel implements Channel {
  readonly name = 'webhook'

  readonly #settings: WebhookSettings
  readonly #secret: SigningSecret

  constructor(settings: WebhookSettings, secret: SigningSecret) {
    this.#settings = settings
    this.#secret = secret
  }

  async deliver(notification: Notification): Promise<void> {
    let secret: string | undefined
    try {
      secret = await this.#secret.current()
    } catch (error) {
      // Never an unsigned POST in its place: the receiver would rightly refuse it, or wrongly trust it.
      throw new DeliveryFailedError(`Webhook not sent: the signing secret could not be read (${error instanceof Error ? error.message : String(error)})`, true)
    }
    const body = JSON.stringify(notification)
    const headers: Record<string, string> = {
      'Content-Type': 'application/json',
      'X-Notification-Id': notification.id,
      'X-Notification-Event': notification.event,
    }
    if (secret) {
      const timestamp = String(Math.floor(Date.now() / 1000))
      headers['X-Signature-Timestamp'] = timestamp
      headers['X-Signature-256'] = webhookSignature(secret, timestamp, body)
    }
    let response: Response
    try {
      response = await fetch(this.#settings.url, {
        method: 'POST',
        headers,
        body,
        signal: AbortSignal.timeout(this.#settings.timeoutMs),
      })
    } catch (error) {
      const reason = error instanceof Error && error.name === 'TimeoutError' ? `timed out after ${this.#settings.timeoutMs} ms` : String(error)
      throw new DeliveryFailedError(`Webhook ${reason}`, true)
    }
    // Drain the body so the connection is released; its content does not matter.
    await response.arrayBuffer().catch(() => undefined)
    if (!response.ok) {
      throw new DeliveryFailedError(`Webhook answered ${response.status}`, isRetryableStatus(response.status))
    }
  }
}
