/**
 * What SQS accepts in a message, judged before local-aws-sqs sees it: that
 * server takes characters SQS refuses and counts sizes in UTF-16 units where
 * SQS counts bytes, so without this a local run accepts what AWS refuses.
 */

/** SQS's service-wide size limit for one message and for a whole batch. */
export const MAX_MESSAGE_BYTES = 1_048_576
export const MAX_BATCH_ENTRIES = 10

export const ALLOWED_CHARACTERS = '#x9 | #xA | #xD | #x20 to #xD7FF | #xE000 to #xFFFD | #x10000 to #x10FFFF'
// With the u flag a lone surrogate is a code point of its own, outside every allowed range.
const FORBIDDEN_CHARACTER = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/u
const BATCH_ENTRY_ID = /^[\w-]{1,80}$/

export interface AttributeToSend {
  name: string
  dataType?: unknown
  stringValue?: unknown
  binaryValue?: unknown
}

/** A message as a send request states it, whichever protocol carried it; values are unchecked. */
export interface MessageToSend {
  id?: string
  body: unknown
  attributes: AttributeToSend[]
}

/** An error as SQS names it: `code` for the query protocol, `type` for JSON's `__type`. */
export interface Refusal {
  code: string
  type: string
  message: string
}

export interface FailedEntry {
  id: string
  refusal: Refusal
}

/**
 * `pass`: nothing here to refuse (or local-aws-sqs refuses the whole request itself, as for an
 * unknown queue or 11 entries); `refuse`: the whole request; `partial`: a batch whose `failed`
 * entries SQS reports while it still sends those at the positions in `keep`.
 */
export type Verdict = { kind: 'pass' } | { kind: 'refuse'; refusal: Refusal } | { kind: 'partial'; keep: number[]; failed: FailedEntry[] }

/** `#xFFFF` for the first character SQS refuses, as its error messages name it. */
export function forbiddenCharacter(text: string): string | undefined {
  const found = FORBIDDEN_CHARACTER.exec(text)?.[0]
  return found === undefined ? undefined : `#x${(found.codePointAt(0) ?? 0).toString(16).toUpperCase()}`
}

const invalidParameter = (message: string): Refusal => ({
  code: 'InvalidParameterValue',
  type: 'com.amazon.coral.service#InvalidParameterValueException',
  message,
})

const textBytes = (value: unknown): number => (typeof value === 'string' ? Buffer.byteLength(value) : 0)

/** The size SQS counts: the body plus each attribute's name, type and value. */
export function messageBytes(message: MessageToSend): number {
  let bytes = textBytes(message.body)
  for (const attribute of message.attributes) {
    bytes += textBytes(attribute.name) + textBytes(attribute.dataType) + textBytes(attribute.stringValue)
    if (typeof attribute.binaryValue === 'string') bytes += Buffer.byteLength(attribute.binaryValue, 'base64')
  }
  return bytes
}

/** Why SQS would refuse this one message, if it would for its characters or its size. */
export function messageRefusal(message: MessageToSend, maxBytes: number): Refusal | undefined {
  const inBody = typeof message.body === 'string' ? forbiddenCharacter(message.body) : undefined
  if (inBody) {
    return {
      code: 'InvalidMessageContents',
      type: 'com.amazonaws.sqs#InvalidMessageContents',
      message: `Invalid binary character '${inBody}' was found in the message body, the set of allowed characters is ${ALLOWED_CHARACTERS}`,
    }
  }
  for (const attribute of message.attributes) {
    const inValue = typeof attribute.stringValue === 'string' ? forbiddenCharacter(attribute.stringValue) : undefined
    if (inValue) {
      return invalidParameter(
        `Message attribute '${attribute.name}' has an invalid value: invalid binary character '${inValue}', ` +
          `the set of allowed characters is ${ALLOWED_CHARACTERS}`,
      )
    }
  }
  if (messageBytes(message) > maxBytes) {
    return invalidParameter(`One or more parameters are invalid. Reason: Message must be shorter than ${maxBytes} bytes.`)
  }
  return undefined
}

/** Whether SQS refuses the batch as a whole for its entries' number or ids (local-aws-sqs says so itself). */
function malformedBatch(messages: MessageToSend[]): boolean {
  if (messages.length === 0 || messages.length > MAX_BATCH_ENTRIES) return true
  const ids = messages.map((message) => message.id)
  return ids.some((id) => id === undefined || !BATCH_ENTRY_ID.test(id)) || new Set(ids).size !== ids.length
}

/**
 * The verdict on a SendMessage (one message) or SendMessageBatch; `maxBytes` is the queue's
 * message size limit, undefined when the queue is unknown (local-aws-sqs refuses that itself).
 */
export function judgeSend(action: 'SendMessage' | 'SendMessageBatch', messages: MessageToSend[], maxBytes: number | undefined): Verdict {
  if (maxBytes === undefined) return { kind: 'pass' }
  if (action === 'SendMessage') {
    const [message] = messages
    const refusal = message && messageRefusal(message, maxBytes)
    return refusal ? { kind: 'refuse', refusal } : { kind: 'pass' }
  }
  if (malformedBatch(messages)) return { kind: 'pass' }
  const total = messages.reduce((sum, message) => sum + messageBytes(message), 0)
  if (total > MAX_MESSAGE_BYTES) {
    return {
      kind: 'refuse',
      refusal: {
        code: 'AWS.SimpleQueueService.BatchRequestTooLong',
        type: 'com.amazonaws.sqs#BatchRequestTooLong',
        message: `Batch requests cannot be longer than ${MAX_MESSAGE_BYTES} bytes. You have sent ${total} bytes.`,
      },
    }
  }
  const keep: number[] = []
  const failed: FailedEntry[] = []
  messages.forEach((message, position) => {
    const refusal = messageRefusal(message, maxBytes)
    if (refusal) failed.push({ id: message.id ?? '', refusal })
    else keep.push(position)
  })
  return failed.length ? { kind: 'partial', keep, failed } : { kind: 'pass' }
}
