import { IdempotencyAlreadyInProgressError, IdempotencyConfig, makeIdempotent } from '@aws-lambda-powertools/idempotency'
import type { Context } from 'aws-lambda'
import { DeliveryInProgressError, type DeliveryGuard } from '../notifications/delivery-guard.ts'
import { lazy } from '../lazy.ts'
import { idempotencyPersistence } from './powertools-idempotency.ts'

type GuardedRun = (key: string, deliver: () => Promise<void>) => Promise<true>

/**
 * DeliveryGuard on Powertools idempotency: a conditional put claims the key (in
 * progress until the Lambda's deadline), completion is stored, and a failed run
 * deletes its claim.
 */
export class PowertoolsDeliveryGuard implements DeliveryGuard {
  readonly #config: IdempotencyConfig
  readonly #run = lazy(() => this.#guardedRun())

  constructor(keepDays: number) {
    this.#config = new IdempotencyConfig({ expiresAfterSeconds: keepDays * 24 * 60 * 60 })
  }

  /** Lets a claim expire with the invocation that holds it, so a crash does not block its retries. */
  registerLambdaContext(context: Context): void {
    this.#config.registerLambdaContext(context)
  }

  async once(key: string, deliver: () => Promise<void>): Promise<boolean> {
    const run = await this.#run()
    let delivered = false
    try {
      await run(key, async () => {
        delivered = true
        await deliver()
      })
    } catch (error) {
      if (error instanceof IdempotencyAlreadyInProgressError) throw new DeliveryInProgressError(`Delivery ${key} is in progress elsewhere`)
      throw error
    }
    return delivered
  }

  async #guardedRun(): Promise<GuardedRun> {
    const persistenceStore = await idempotencyPersistence()
    // The key (first argument) is what is hashed: one record per notification and channel.
    return makeIdempotent(
      async (_key: string, deliver: () => Promise<void>): Promise<true> => {
        await deliver()
        return true
      },
      { persistenceStore, config: this.#config },
    )
  }
}
