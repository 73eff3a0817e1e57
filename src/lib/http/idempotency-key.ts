import {
  IdempotencyAlreadyInProgressError,
  IdempotencyConfig,
  IdempotencyValidationError,
  makeIdempotent,
} from '@aws-lambda-powertools/idempotency'
import type { Context } from 'aws-lambda'
import { idempotencyPersistence } from '../adapters/powertools-idempotency.ts'
import { lazy } from '../lazy.ts'
import { HttpError, type ApiRequest } from './request.ts'
import type { HttpResponse } from './response.ts'

/** IETF httpapi-idempotency-key: 1..255 printable (visible ASCII or space) characters. */
const KEY_PATTERN = /^[\x20-\x7e]{1,255}$/
const KEEP_SECONDS = 24 * 60 * 60

type Create = () => Promise<HttpResponse>
interface KeyedRequest {
  /** Whose key it is: the caller's `sub`. */
  ownerId: string
  key: string
  body: unknown
}

/**
 * `Idempotency-Key` on a create: a retry with the same key and body gets the
 * first response again (with `Idempotent-Replayed: true`) and creates nothing;
 * the same key with another body is 422; a retry while the first is running is
 * 409. A create that fails stores nothing, so it can be retried. Keys live 24 h.
 * A key is its caller's: the same key from two callers is two requests, and
 * one caller can neither replay nor block another's create.
 */
export class IdempotentCreates {
  readonly #config = new IdempotencyConfig({
    // The record's id is a hash of the JSON of [owner, key]: no two pairs share it.
    eventKeyJmesPath: '[ownerId, key]',
    payloadValidationJmesPath: 'body',
    expiresAfterSeconds: KEEP_SECONDS,
  })
  readonly #run = lazy(() => this.#idempotentRun())

  async respond(request: ApiRequest, ownerId: string, body: unknown, context: Context, create: Create): Promise<HttpResponse> {
    const key = request.headers['idempotency-key']
    if (key === undefined) return create()
    if (!KEY_PATTERN.test(key)) throw new HttpError(400, 'Idempotency-Key must be 1 to 255 printable characters')
    this.#config.registerLambdaContext(context)
    const run = await this.#run()
    let created = false
    try {
      const response = await run({ ownerId, key, body }, async () => {
        created = true
        const response = await create()
        // Only a success is kept: a thrown error makes Powertools drop the claim.
        if (response.statusCode >= 400) throw new HttpError(response.statusCode, JSON.parse(response.body ?? '{}').message ?? 'Request failed')
        return response
      })
      return created ? response : { ...response, headers: { ...response.headers, 'Idempotent-Replayed': 'true' } }
    } catch (error) {
      if (error instanceof IdempotencyValidationError) throw new HttpError(422, 'Idempotency-Key was already used with another request body')
      if (error instanceof IdempotencyAlreadyInProgressError) throw new HttpError(409, 'A request with this Idempotency-Key is still in progress')
      throw error
    }
  }

  async #idempotentRun(): Promise<(request: KeyedRequest, create: Create) => Promise<HttpResponse>> {
    const persistenceStore = await idempotencyPersistence()
    return makeIdempotent(async (_request: KeyedRequest, create: Create) => create(), { persistenceStore, config: this.#config })
  }
}
