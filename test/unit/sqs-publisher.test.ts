import fc from 'fast-check'
import test from 'tape'
import { isMessageRefusal, toSqsBody } from '../../src/lib/adapters/sqs-publisher.ts'

/**
 * What the publisher sends SQS and how it reads SQS's answers: a body within
 * SQS's character set that parses back to the exact value, and which failures
 * are the message's own (it can be parked) rather than the queue's (it may pass).
 */

/** Exactly the characters SQS accepts in a message body. */
const sqsAccepts = (body: string): boolean =>
  [...body].every((character) => {
    const code = character.codePointAt(0)!
    return code === 0x9 || code === 0xa || code === 0xd || (code >= 0x20 && code <= 0xd7ff) || (code >= 0xe000 && code <= 0xfffd) || (code >= 0x10000 && code <= 0x10ffff)
  })

test('U+FFFE and U+FFFF become JSON escapes; the value is exactly the same', (t) => {
  const value = { task: { title: 'a\uFFFEb\uFFFFc', detail: '\uFFFF\uFFFF\uFFFE' } }
  const body = toSqsBody(value)
  t.equal(body, '{"task":{"title":"a\\ufffeb\\uffffc","detail":"\\uffff\\uffff\\ufffe"}}')
  t.ok(sqsAccepts(body), 'SQS accepts it')
  t.notOk(sqsAccepts(JSON.stringify(value)), 'JSON.stringify alone is not enough')
  t.deepEqual(JSON.parse(body), value)
  t.end()
})

test('text SQS accepts passes as JSON.stringify writes it (emoji, accents, DEL and C1 controls)', (t) => {
  const value = { title: 'caf\u00e9 \u{1F600} \u007f\u0085 \uE000 \uFFFD \u{10FFFF}' }
  t.equal(toSqsBody(value), JSON.stringify(value))
  t.end()
})

test('any text: the body is within SQS character set and parses back to the same value', (t) => {
  const awkward = fc.constantFrom('\uFFFE', '\uFFFF', '\uD800', '\uDFFF', '\u0000', '\u001F', '\t', '\n', '\r', '\u{1F600}', '\uD7FF', '\uE000', '\uFFFD')
  const text = fc.array(fc.oneof(fc.string({ unit: 'binary', maxLength: 1 }), awkward), { maxLength: 40 }).map((parts) => parts.join(''))
  fc.assert(
    fc.property(fc.record({ title: text, detail: text }), (value) => {
      const body = toSqsBody({ task: value })
      return sqsAccepts(body) && JSON.stringify(JSON.parse(body)) === JSON.stringify({ task: value }) && (JSON.parse(body) as { task: typeof value }).task.title === value.title
    }),
    { numRuns: 2000 },
  )
  t.pass('2000 random texts')
  t.end()
})

/** An error as the AWS SDK throws it for a service's answer. */
const sdkError = (name: string, fault: 'client' | 'server', status: number, extra: Record<string, unknown> = {}): Error =>
  Object.assign(new Error(`${name} happened`), { name, $fault: fault, $metadata: { httpStatusCode: status }, ...extra })

test('refusals of the message itself: sender faults about its content or size', (t) => {
  for (const name of ['InvalidMessageContents', 'InvalidParameterValue', 'InvalidAttributeValue', 'InvalidAttributeName', 'MessageTooLong']) {
    t.ok(isMessageRefusal(sdkError(name, 'client', 400)), name)
  }
  t.ok(isMessageRefusal(sdkError('SQSServiceException', 'client', 400, { Code: 'InvalidParameterValue' })), 'an unmodelled error with its query-compatible Code')
  t.end()
})

test('not refusals: the queue unreachable, slow, throttled, failing, or the sender not allowed', (t) => {
  const notRefused: [string, unknown][] = [
    ['connection refused', Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' })],
    ['timeout', Object.assign(new Error('socket timed out'), { name: 'TimeoutError' })],
    ['5xx', sdkError('InternalError', 'server', 500)],
    ['503', sdkError('ServiceUnavailable', 'server', 503)],
    ['throttling', sdkError('ThrottlingException', 'client', 400)],
    ['RequestThrottled', sdkError('RequestThrottled', 'client', 403)],
    ['KmsThrottled', sdkError('KmsThrottled', 'client', 400)],
    ['429', sdkError('TooManyRequests', 'client', 429)],
    ['access denied', sdkError('AccessDeniedException', 'client', 403)],
    ['credentials', sdkError('InvalidClientTokenId', 'client', 403)],
    ['no such queue', sdkError('QueueDoesNotExist', 'client', 400)],
    ['no such queue, query code', sdkError('SQSServiceException', 'client', 400, { Code: 'AWS.SimpleQueueService.NonExistentQueue' })],
    ['queue key', sdkError('KmsDisabled', 'client', 400)],
    ['not an error object', 'boom'],
    ['nothing', undefined],
  ]
  for (const [what, error] of notRefused) t.notOk(isMessageRefusal(error), what)
  t.end()
})
