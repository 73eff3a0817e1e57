import type { LambdaClient } from '@aws-sdk/client-lambda'
import { lazy } from '../lazy.ts'
import { MappingBusyError, type MappingState, type MappingSwitch } from '../leveling/reconcile.ts'
import { traced } from '../tracing.ts'

type LambdaModule = typeof import('@aws-sdk/client-lambda')

/** The Lambda client and the module's commands, loaded on first use. */
export type LazyLambda = () => Promise<{ client: LambdaClient; commands: LambdaModule }>

/**
 * One Lambda client per container, made on first use (only the control
 * function switches the mapping). The endpoint comes from
 * AWS_ENDPOINT_URL_LAMBDA when set: locally the sqs-queues plugin's emulation
 * answers there, with the same API. Traced when the function traces.
 */
export function lambdaClient(): LazyLambda {
  return lazy(async () => {
    const commands = await import('@aws-sdk/client-lambda')
    const client = await traced(new commands.LambdaClient({ maxAttempts: 3 }))
    return { client, commands }
  })
}

/** The consumer's event source mapping, switched through Lambda's UpdateEventSourceMapping. */
export class LambdaMappingSwitch implements MappingSwitch {
  readonly #lambda: LazyLambda
  readonly #uuid: string

  constructor(lambda: LazyLambda, uuid: string) {
    this.#lambda = lambda
    this.#uuid = uuid
  }

  async state(): Promise<MappingState> {
    const { client, commands } = await this.#lambda()
    const mapping = await client.send(new commands.GetEventSourceMappingCommand({ UUID: this.#uuid }))
    return mapping.State ?? 'Unknown'
  }

  async setEnabled(enabled: boolean): Promise<void> {
    const { client, commands } = await this.#lambda()
    try {
      await client.send(new commands.UpdateEventSourceMappingCommand({ UUID: this.#uuid, Enabled: enabled }))
    } catch (error) {
      // Lambda takes no update while a mapping moves between states: the reconcile waits and tries again.
      if (error instanceof Error && error.name === 'ResourceInUseException') throw new MappingBusyError(error.message)
      throw error
    }
  }
}
