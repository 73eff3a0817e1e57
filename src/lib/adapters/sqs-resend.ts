import type { MessageAttributeValue } from '@aws-sdk/client-sqs'
import type { SQSRecord } from 'aws-lambda'
import { delaySecondsUntil } from '../leveling/control.ts'
import { logger } from '../log.ts'
import type { LazySqs } from './sqs.ts'

/** Lambda's record attributes as SQS takes them on a send (binary values come base64-encoded in the record). */
function sendableAttributes(attributes: SQSRecord['messageAttributes']): Record<string, MessageAttributeValue> {
  return Object.fromEntries(
    Object.entries(attributes).map(([name, value]) => [
      name,
      {
        DataType: value.dataType,
        ...(value.stringValue !== undefined && { StringValue: value.stringValue }),
        ...(value.binaryValue !== undefined && { BinaryValue: Buffer.from(value.binaryValue, 'base64') }),
      },
    ]),
  )
}

/**
 * Sends a message again, as a fresh copy for later, so the copy received now
 * can be deleted: a delivery that must wait (its channel's breaker is open)
 * spends none of the message's receives, and never reaches the DLQ through
 * waiting. The copy has the same body and attributes, so the same
 * notification id: its channels already delivered are skipped.
 */
export class SqsDeferrals {
  readonly #sqs: LazySqs
  readonly #queueUrl: string | undefined

  constructor(sqs: LazySqs, queueUrl: string | undefined) {
    this.#sqs = sqs
    this.#queueUrl = queueUrl
  }

  /** Sends the copy to arrive at `until` (epoch ms; SQS delays whole seconds, at least 1, at most 900). */
  async resend(record: SQSRecord, until: number, now: number = Date.now()): Promise<void> {
    if (!this.#queueUrl) throw new Error('NOTIFICATIONS_QUEUE_URL is not set: a delivery that must wait cannot be sent again')
    const delaySeconds = delaySecondsUntil(until, now, 1)
    const trace = record.attributes.AWSTraceHeader
    const { client, commands } = await this.#sqs()
    const { MessageId } = await client.send(
      new commands.SendMessageCommand({
        QueueUrl: this.#queueUrl,
        MessageBody: record.body,
        DelaySeconds: delaySeconds,
        MessageAttributes: sendableAttributes(record.messageAttributes),
        // The copy stays in the producer's trace.
        ...(trace !== undefined && { MessageSystemAttributes: { AWSTraceHeader: { DataType: 'String', StringValue: trace } } }),
      }),
    )
    logger.info('Sent again for later', { messageId: record.messageId, copyMessageId: MessageId, delaySeconds })
  }
}
