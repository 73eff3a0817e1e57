import type { SQSClient } from '@aws-sdk/client-sqs'
import type { SqsSettings } from '../config.ts'
import { lazy } from '../lazy.ts'
import { traced } from '../tracing.ts'

type SqsModule = typeof import('@aws-sdk/client-sqs')

/** The SQS client and the module's commands, loaded on first use. */
export type LazySqs = () => Promise<{ client: SQSClient; commands: SqsModule }>

/**
 * One SQS client per container, with bounded retries and timeouts so that an
 * unreachable queue costs a request well under a second. The endpoint comes from
 * AWS_ENDPOINT_URL_SQS when set (the local queue), else from the region.
 * The SDK is loaded on first use: routes that never publish never pay for it.
 * Traced (tracing.ts), each call is a subsegment and a SendMessage carries the
 * trace header that SQS keeps with the message.
 */
export function sqsClient(settings: SqsSettings): LazySqs {
  return lazy(async () => {
    const commands = await import('@aws-sdk/client-sqs')
    const client = await traced(
      new commands.SQSClient({
        maxAttempts: settings.maxAttempts,
        requestHandler: { connectionTimeout: settings.timeoutMs, requestTimeout: settings.timeoutMs, throwOnRequestTimeout: true },
      }),
    )
    return { client, commands }
  })
}
