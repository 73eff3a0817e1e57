import { logger } from '../log.ts'
import { isRetryable, retryAtOf, retryVisibilitySeconds, type RetryPolicy } from '../notifications/retry.ts'
import type { LazySqs } from './sqs.ts'

/**
 * Sets when a failed message comes back: a retryable failure after an
 * exponential backoff (never before a Retry-After the downstream sent), a permanent one at once (it can only end in the DLQ,
 * so it should get there without waiting out the visibility timeout).
 */
export class SqsRetryScheduler {
  readonly #sqs: LazySqs
  readonly #queueUrl: string | undefined
  readonly #policy: RetryPolicy

  constructor(sqs: LazySqs, queueUrl: string | undefined, policy: RetryPolicy) {
    this.#sqs = sqs
    this.#queueUrl = queueUrl
    this.#policy = policy
  }

  async failed(message: { messageId: string; receiptHandle: string; receiveCount: number }, error: unknown): Promise<void> {
    if (!this.#queueUrl) return
    const seconds = isRetryable(error) ? retryVisibilitySeconds(message.receiveCount, this.#policy, retryAtOf(error), Date.now()) : 0
    try {
      const { client, commands } = await this.#sqs()
      await client.send(new commands.ChangeMessageVisibilityCommand({ QueueUrl: this.#queueUrl, ReceiptHandle: message.receiptHandle, VisibilityTimeout: seconds }))
      logger.info('Retry scheduled', { messageId: message.messageId, receiveCount: message.receiveCount, retryInSeconds: seconds })
    } catch (changeError) {
      // The message still comes back, after the queue's own visibility timeout.
      logger.warn('Could not change visibility', { messageId: message.messageId, error: changeError as Error })
    }
  }
}
