import { SQSClient } from '@aws-sdk/client-sqs'
import { readConfig } from '../config.ts'

let client: SQSClient | undefined

/**
 * One SQS client per container, with bounded retries and timeouts so that an
 * unreachable queue costs a request well under a second. The endpoint comes from
 * AWS_ENDPOINT_URL_SQS when set (the local queue), else from the region.
 */
export function sqsClient(): SQSClient {
  const { sqs } = readConfig()
  client ??= new SQSClient({
    maxAttempts: sqs.maxAttempts,
    requestHandler: { connectionTimeout: sqs.timeoutMs, requestTimeout: sqs.timeoutMs, throwOnRequestTimeout: true },
  })
  return client
}
