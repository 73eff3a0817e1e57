import type { SQSClient } from '@aws-sdk/client-sqs'
import { readConfig } from '../config.ts'

type SqsModule = typeof import('@aws-sdk/client-sqs')

let sqs: Promise<{ client: SQSClient; commands: SqsModule }> | undefined

/**
 * One SQS client per container, with bounded retries and timeouts so that an
 * unreachable queue costs a request well under a second. The endpoint comes from
 * AWS_ENDPOINT_URL_SQS when set (the local queue), else from the region.
 * The SDK is loaded on first use: routes that never publish never pay for it.
 */
export function sqsClient(): Promise<{ client: SQSClient; commands: SqsModule }> {
  sqs ??= import('@aws-sdk/client-sqs').then((commands) => {
    const { sqs: settings } = readConfig()
    const client = new commands.SQSClient({
      maxAttempts: settings.maxAttempts,
      requestHandler: { connectionTimeout: settings.timeoutMs, requestTimeout: settings.timeoutMs, throwOnRequestTimeout: true },
    })
    return { client, commands }
  })
  return sqs
}

export type LazySqs = typeof sqsClient
