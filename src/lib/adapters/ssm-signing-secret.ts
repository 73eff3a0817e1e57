import type { SSMClientConfig } from '@aws-sdk/client-ssm'
import type { WebhookSettings } from '../config.ts'
import { lazy } from '../lazy.ts'
import { traced } from '../tracing.ts'
import { fixedSigningSecret, fixedWebhookUrl, type SecretValue, type SigningSecret, type WebhookUrl } from './webhook-channel.ts'

/**
 * How long a read value is used before SSM is asked again: a rotation (of the
 * signing secret, or of the credentials in the webhook URL) reaches every
 * running consumer within this time, with no deploy; receivers accept the old
 * and the new secret for as long.
 */
export const SECRET_MAX_AGE_SECONDS = 300

/*
 * SSM answers in milliseconds. Two attempts of at most 1 s to connect and 3 s
 * to answer keep an unreachable SSM at about 8 s, inside the consumer's 30 s
 * timeout; after that the delivery fails and the consumer's backoff retries it.
 */
const SSM_MAX_ATTEMPTS = 2
const SSM_CONNECT_TIMEOUT_MS = 1000
const SSM_REQUEST_TIMEOUT_MS = 3000

/** The parameter is configured but cannot be read now (missing, access denied, throttled, network), or holds nothing. */
export class SecureStringUnavailableError extends Error {
  override readonly name = 'SecureStringUnavailableError'
}

/** The SDK's error name (and network code) under Powertools' GetParameterError; never a value. */
function reasonOf(error: unknown): string {
  const root = error instanceof Error && error.cause instanceof Error ? error.cause : error
  if (!(root instanceof Error)) return String(root)
  const code = (root as { code?: unknown }).code
  const status = (root as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode
  return [root.name, typeof code === 'string' ? code : undefined, status ? `HTTP ${status}` : undefined].filter(Boolean).join(', ')
}

export interface SsmSecureStringOptions {
  /** Seconds a read value is reused (Powertools' maxAge). */
  maxAgeSeconds?: number
  /** Over the SSM client's defaults (tests point it at a local endpoint). */
  clientConfig?: SSMClientConfig
}

/**
 * A value the consumer must not hold in its environment (the webhook's signing
 * secret, a webhook URL with credentials), as an SSM SecureString, read with
 * Powertools Parameters (decrypted, cached for SECRET_MAX_AGE_SECONDS).
 * Powertools' getParameter would build its own SDK client, with the SDK's
 * default retries and no timeouts; this is the same read and cache through a
 * provider whose client gives up in time. The SDK and Powertools load on the
 * first read, not at the cold start of a consumer that may never need them; a
 * failed read is not cached (Powertools caches values only, `lazy` forgets
 * rejections), so the next delivery tries again. Reads made while one is
 * under way wait for it. No error it throws holds the value.
 */
export class SsmSecureString implements SecretValue<string> {
  readonly #name: string
  readonly #maxAgeSeconds: number
  readonly #provider: () => Promise<{ get(name: string, options: { decrypt: boolean; maxAge: number }): Promise<unknown> }>

  constructor(parameterName: string, options: SsmSecureStringOptions = {}) {
    this.#name = parameterName
    this.#maxAgeSeconds = options.maxAgeSeconds ?? SECRET_MAX_AGE_SECONDS
    this.#provider = lazy(async () => {
      const [{ SSMProvider }, { SSMClient }] = await Promise.all([import('@aws-lambda-powertools/parameters/ssm'), import('@aws-sdk/client-ssm')])
      // Traced when the function traces (tracing.ts): the read shows in the trace, never its value.
      const client = await traced(
        new SSMClient({
          maxAttempts: SSM_MAX_ATTEMPTS,
          requestHandler: { connectionTimeout: SSM_CONNECT_TIMEOUT_MS, requestTimeout: SSM_REQUEST_TIMEOUT_MS, throwOnRequestTimeout: true },
          ...options.clientConfig,
        }),
      )
      return new SSMProvider({ awsSdkV3Client: client })
    })
  }

  /** The read in progress: the records of a batch run at once, and they share one GetParameter rather than each making one. */
  #reading: Promise<string> | undefined

  current(): Promise<string> {
    this.#reading ??= this.#read().finally(() => {
      this.#reading = undefined
    })
    return this.#reading
  }

  async #read(): Promise<string> {
    let value: unknown
    try {
      const provider = await this.#provider()
      value = await provider.get(this.#name, { decrypt: true, maxAge: this.#maxAgeSeconds })
    } catch (error) {
      throw new SecureStringUnavailableError(`SSM parameter ${this.#name}: ${reasonOf(error)}`)
    }
    // SSM stores no empty value, but a blank one would sign with a secret anyone can guess.
    if (typeof value !== 'string' || value.trim() === '') throw new SecureStringUnavailableError(`SSM parameter ${this.#name} holds no value`)
    return value
  }
}

/** The webhook's signing secret as its settings name it: from SSM (deployed), from the environment (local), or none. */
export function webhookSigningSecret(settings: WebhookSettings, options?: SsmSecureStringOptions): SigningSecret {
  return settings.secretParameter ? new SsmSecureString(settings.secretParameter, options) : fixedSigningSecret(settings.secret)
}

/** The webhook's URL as its settings name it: from SSM (deployed, a URL with credentials) or from the environment. */
export function webhookUrl(settings: WebhookSettings, options?: SsmSecureStringOptions): WebhookUrl {
  if (settings.urlParameter) return new SsmSecureString(settings.urlParameter, options)
  if (!settings.url) throw new Error('The webhook has neither NOTIFY_WEBHOOK_URL nor NOTIFY_WEBHOOK_URL_PARAMETER')
  return fixedWebhookUrl(settings.url)
}
