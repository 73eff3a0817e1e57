import { type EventPublisher, PublishRefusedError, type TaskEvent } from '../messages/contract.ts'
import type { LazySqs } from './sqs.ts'

/**
 * Characters SQS refuses in a message: anything outside #x9 | #xA | #xD |
 * #x20-#xD7FF | #xE000-#xFFFD | #x10000-#x10FFFF. With the `u` flag a
 * surrogate pair is one code point (allowed) and a lone surrogate is matched.
 */
const OUTSIDE_SQS_CHARACTERS = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu

/**
 * A JSON message body SQS accepts, with exactly the value given. JSON.stringify
 * already escapes control characters and lone surrogates; what it leaves
 * (U+FFFE, U+FFFF: valid user text) becomes a `\uXXXX` escape, which any JSON
 * reader turns back into the same character.
 */
export function toSqsBody(value: unknown): string {
  return JSON.stringify(value).replace(OUTSIDE_SQS_CHARACTERS, (character) => `\\u${character.charCodeAt(0).toString(16).padStart(4, '0')}`)
}

/**
 * Sender faults that are not about the message: the caller, its permissions, the
 * queue or its key. They refuse every message alike, so they end a relay run
 * like an outage does instead of parking every event.
 */
const NOT_ABOUT_THE_MESSAGE = new Set([
  'AccessDenied',
  'AccessDeniedException',
  'InvalidClientTokenId',
  'UnrecognizedClientException',
  'ExpiredToken',
  'ExpiredTokenException',
  'IncompleteSignature',
  'SignatureDoesNotMatch',
  'MissingAuthenticationToken',
  'InvalidSecurity',
  'InvalidAddress',
  'QueueDoesNotExist',
  'AWS.SimpleQueueService.NonExistentQueue',
  'RequestThrottled',
  'KmsAccessDenied',
  'KmsDisabled',
  'KmsInvalidKeyUsage',
  'KmsInvalidState',
  'KmsNotFound',
  'KmsOptInRequired',
  'KmsThrottled',
])

/**
 * Did SQS refuse the message itself (InvalidMessageContents, InvalidParameterValue
 * for a message too long, InvalidAttributeValue...)? An SDK error that is the
 * sender's fault, not throttling and not about who sends or where. Errors
 * without `$fault` never reached SQS (network, timeout).
 */
export function isMessageRefusal(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false
  const { $fault, name, Code, $metadata } = error as { $fault?: unknown; name?: unknown; Code?: unknown; $metadata?: { httpStatusCode?: unknown } }
  if ($fault !== 'client' || $metadata?.httpStatusCode === 429) return false
  const codes = [name, Code].filter((code): code is string => typeof code === 'string')
  return !codes.some((code) => NOT_ABOUT_THE_MESSAGE.has(code) || /throttl/i.test(code))
}

/** Publishes task events to the notifications queue: `event` attribute, JSON body. */
export class SqsEventPublisher implements EventPublisher {
  readonly #sqs: LazySqs
  readonly #queueUrl: string

  constructor(sqs: LazySqs, queueUrl: string) {
    this.#sqs = sqs
    this.#queueUrl = queueUrl
  }

  async publish(event: TaskEvent): Promise<void> {
    const { client, commands } = await this.#sqs()
    try {
      await client.send(
        new commands.SendMessageCommand({
          QueueUrl: this.#queueUrl,
          MessageBody: toSqsBody(event.body),
          MessageAttributes: { event: { DataType: 'String', StringValue: event.event } },
        }),
      )
    } catch (error) {
      if (!isMessageRefusal(error)) throw error
      const { name, message } = error as Error
      throw new PublishRefusedError(`${name}: ${message}`, { cause: error })
    }
  }
}
