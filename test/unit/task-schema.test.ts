import test from 'tape'
import type { APIGatewayProxyEventV2 } from 'aws-lambda'
import { readHttpSettings } from '../../src/lib/config.ts'
import { ifMatchCondition } from '../../src/lib/http/conditions.ts'
import { HttpError, MAX_BODY_BYTES, parseJsonBody, toApiRequest, type ApiRequest } from '../../src/lib/http/request.ts'
import { createTaskSchema, describeIssues, replaceTaskSchema } from '../../src/lib/tasks/schema.ts'

/**
 * The HTTP contract's validation, body and condition rules (SPEC.md "HTTP
 * contract"), checked without a sandbox: the schemas, If-Match, and the raw
 * body reader with its 415 / 413 / 400 precedence.
 */

type Outcome<T> = { ok: true; data: T } | { ok: false; message: string }

/** What a schema's safeParse returns, whichever zod flavour the app uses. */
type Parsed<T> = { success: true; data: T } | { success: false; error: Parameters<typeof describeIssues>[0] }

/** The schema's verdict as the API would word it after `Validation failed: `. */
function outcome<T>(parsed: Parsed<T>): Outcome<T> {
  return parsed.success ? { ok: true, data: parsed.data } : { ok: false, message: describeIssues(parsed.error) }
}

const create = (input: unknown) => outcome(createTaskSchema.safeParse(input))
const replace = (input: unknown) => outcome(replaceTaskSchema.safeParse(input))

/** The problem list of a rejected body, or `accepted` when it passed. */
function problems<T>(outcome: Outcome<T>): string {
  return outcome.ok ? 'accepted' : outcome.message
}

function accepted<T>(outcome: Outcome<T>): T {
  if (!outcome.ok) throw new Error(`expected the body to be accepted, got: ${outcome.message}`)
  return outcome.data
}

/** A POST with this body; `contentType` null sends no Content-Type header. */
function request(body: string | Buffer | undefined, contentType: string | null = 'application/json'): ApiRequest {
  return {
    method: 'POST',
    path: '/tasks',
    requestId: 'test-request',
    headers: contentType === null ? {} : { 'content-type': contentType },
    query: {},
    params: {},
    rawBody: body === undefined ? undefined : Buffer.isBuffer(body) ? body : Buffer.from(body, 'utf8'),
  }
}

/** What parseJsonBody answered: the parsed body, or the HTTP error it threw. */
function parse(req: ApiRequest, schema: Parameters<typeof parseJsonBody>[1] = createTaskSchema): { status: number; message: string } | { status: 'ok'; data: unknown } {
  try {
    return { status: 'ok', data: parseJsonBody(req, schema) }
  } catch (error) {
    if (error instanceof HttpError) return { status: error.statusCode, message: error.message }
    throw error
  }
}

const EMOJI = '\u{1F600}' // one code point, two UTF-16 units

// ---------------------------------------------------------------- title

test('title: 1..100 code points, stored as given', (t) => {
  t.equal(accepted(create({ title: 'a' })).title, 'a', 'one character is enough')
  t.equal(accepted(create({ title: 'x'.repeat(100) })).title, 'x'.repeat(100), '100 characters accepted')
  t.equal(problems(create({ title: 'x'.repeat(101) })), 'title: Title must not exceed 100 characters', '101 characters rejected')
  t.equal(EMOJI.length, 2, '(the emoji is two UTF-16 units)')
  t.equal(accepted(create({ title: EMOJI.repeat(100) })).title, EMOJI.repeat(100), '100 emoji (200 UTF-16 units) accepted: an emoji is one character')
  t.equal(problems(create({ title: EMOJI.repeat(101) })), 'title: Title must not exceed 100 characters', '101 emoji rejected')
  t.equal(accepted(create({ title: `${'x'.repeat(99)}${EMOJI}` })).title.length, 101, '99 letters + 1 emoji = 100 characters accepted')
  t.equal(accepted(create({ title: '  padded title  ' })).title, '  padded title  ', 'surrounding white space is kept (stored as given)')
  t.end()
})

test('title: missing, empty, white space only or not a string', (t) => {
  t.equal(problems(create({})), 'title: Title is required', 'missing')
  t.equal(problems(create({ title: null })), 'title: Title is required', 'null')
  t.equal(problems(create({ title: '' })), 'title: Title is required', 'empty')
  t.equal(problems(create({ title: '   ' })), 'title: Title is required', 'spaces only')
  t.equal(problems(create({ title: ' \t\n\u00a0\u2003 ' })), 'title: Title is required', 'tabs, newlines and Unicode spaces only')
  t.equal(problems(create({ title: ' '.repeat(150) })), 'title: Title is required', 'a long white-space title is "required", not "too long"')
  t.equal(problems(create({ title: 42 })), 'title: Title must be a string', 'a number')
  t.equal(problems(create({ title: ['a'] })), 'title: Title must be a string', 'an array')
  t.equal(problems(replace({ isComplete: false })), 'title: Title is required', 'required on replace too')
  t.end()
})

// ---------------------------------------------------------------- detail

test('detail: optional, at most 1000 code points, null is absent', (t) => {
  t.equal(accepted(create({ title: 't', detail: 'd'.repeat(1000) })).detail, 'd'.repeat(1000), '1000 characters accepted')
  t.equal(problems(create({ title: 't', detail: 'd'.repeat(1001) })), 'detail: Detail must not exceed 1000 characters', '1001 rejected')
  t.equal(accepted(create({ title: 't', detail: EMOJI.repeat(1000) })).detail, EMOJI.repeat(1000), '1000 emoji accepted')
  t.equal(problems(create({ title: 't', detail: EMOJI.repeat(1001) })), 'detail: Detail must not exceed 1000 characters', '1001 emoji rejected')
  t.equal(accepted(create({ title: 't', detail: '' })).detail, '', 'an empty detail is a detail')

  const withNull = accepted(create({ title: 't', detail: null }))
  t.equal(withNull.detail, undefined, 'null detail is absent')
  const absent = accepted(create({ title: 't' }))
  t.equal(absent.detail, undefined, 'absent detail stays absent')
  t.equal(accepted(replace({ title: 't', isComplete: true, detail: null })).detail, undefined, 'null detail is absent on replace')
  t.equal(problems(create({ title: 't', detail: 5 })), 'detail: Detail must be a string', 'a number is rejected')
  t.end()
})

// ---------------------------------------------------------------- dueAt

test('dueAt: RFC 3339 with Z or offset, normalised to UTC milliseconds', (t) => {
  const due = (dueAt: unknown) => accepted(create({ title: 't', dueAt })).dueAt
  t.equal(due('2025-12-31T23:59:59Z'), '2025-12-31T23:59:59.000Z', 'Z')
  t.equal(due('2025-12-31T23:59:59.000Z'), '2025-12-31T23:59:59.000Z', 'already normalised')
  t.equal(due('2025-12-31T23:59:59.5Z'), '2025-12-31T23:59:59.500Z', 'one fractional digit')
  t.equal(due('2025-12-31T23:59:59.123456Z'), '2025-12-31T23:59:59.123Z', 'microseconds cut to milliseconds')
  t.equal(due('2026-01-01T01:59:59+02:00'), '2025-12-31T23:59:59.000Z', 'positive offset')
  t.equal(due('2025-12-31T18:59:59.250-05:00'), '2025-12-31T23:59:59.250Z', 'negative offset with fraction')
  t.equal(due('2025-12-31T23:59:59+00:00'), '2025-12-31T23:59:59.000Z', '+00:00')
  t.equal(due('2025-12-31t23:59:59z'), '2025-12-31T23:59:59.000Z', 'lower-case t and z (RFC 3339 allows them)')
  t.equal(due('2024-02-29T12:00:00Z'), '2024-02-29T12:00:00.000Z', '29 February of a leap year')
  t.equal(due(null), undefined, 'null is absent')
  t.equal(due(undefined), undefined, 'absent')
  t.end()
})

test('dueAt: everything else is "Due date must be a valid ISO8601 timestamp"', (t) => {
  const message = 'dueAt: Due date must be a valid ISO8601 timestamp'
  const cases: Array<[unknown, string]> = [
    ['2025-12-31', 'a date without time'],
    ['invalid-date', 'not a date'],
    ['2025-02-30T00:00:00Z', '30 February'],
    ['2025-02-29T00:00:00Z', '29 February of a common year'],
    ['2025-13-01T00:00:00Z', 'month 13'],
    ['2025-00-10T00:00:00Z', 'month 0'],
    ['2025-04-31T00:00:00Z', '31 April'],
    ['2025-12-31T24:00:00Z', 'hour 24'],
    ['2025-12-31T23:60:00Z', 'minute 60'],
    ['2025-12-31T23:59:59', 'no Z or offset'],
    ['2025-12-31T23:59:59+25:00', 'offset hour 25'],
    ['2025-12-31T23:59:59+0200', 'offset without colon'],
    ['2025-12-31 23:59:59Z', 'space instead of T'],
    ['', 'empty string'],
    ['0000-01-01T00:00:00+00:01', 'in UTC, before year 0000'],
    ['9999-12-31T23:59:59-23:59', 'in UTC, after year 9999'],
    [1767225599000, 'epoch milliseconds'],
    [true, 'a boolean'],
  ]
  for (const [dueAt, what] of cases) t.equal(problems(create({ title: 't', dueAt })), message, what)
  t.end()
})

// ---------------------------------------------------------------- isComplete

test('isComplete: boolean, optional on create (false), required on replace', (t) => {
  t.equal(accepted(create({ title: 't' })).isComplete, false, 'defaults to false on create')
  t.equal(accepted(create({ title: 't', isComplete: true })).isComplete, true, 'true on create')
  t.equal(accepted(create({ title: 't', isComplete: false })).isComplete, false, 'false on create')
  t.equal(problems(create({ title: 't', isComplete: 'true' })), 'isComplete: isComplete must be a boolean', 'the string "true" is rejected')
  t.equal(problems(create({ title: 't', isComplete: 1 })), 'isComplete: isComplete must be a boolean', '1 is rejected')
  t.equal(accepted(replace({ title: 't', isComplete: true })).isComplete, true, 'true on replace')
  t.equal(accepted(replace({ title: 't', isComplete: false })).isComplete, false, 'false on replace')
  t.equal(problems(replace({ title: 't' })), 'isComplete: isComplete is required', 'required on replace')
  t.equal(problems(replace({ title: 't', isComplete: 'false' })), 'isComplete: isComplete must be a boolean', 'the string "false" is rejected on replace')
  t.end()
})

// ---------------------------------------------------------------- the body as a whole

test('unknown fields and server-owned fields are ignored', (t) => {
  const data = accepted(
    create({ title: 't', id: 'mine', version: 99, createdAt: '2000-01-01T00:00:00.000Z', updatedAt: 'x', colour: 'red', nested: { a: 1 } }),
  )
  t.deepEqual(Object.keys(data).sort(), ['isComplete', 'title'], 'only the task fields come out')
  t.equal((data as Record<string, unknown>).id, undefined, 'id ignored')
  t.equal((data as Record<string, unknown>).version, undefined, 'version ignored')
  t.equal((data as Record<string, unknown>).createdAt, undefined, 'createdAt ignored')
  t.equal((data as Record<string, unknown>).updatedAt, undefined, 'updatedAt ignored')
  t.equal((data as Record<string, unknown>).colour, undefined, 'unknown field ignored')
  const replaced = accepted(replace({ title: 't', isComplete: true, id: 'x', version: 'not even a number', createdAt: 5 }))
  t.deepEqual(Object.keys(replaced).sort(), ['isComplete', 'title'], 'server-owned fields of any type are ignored on replace')
  t.end()
})

test('a __proto__ key is harmless', (t) => {
  const body = JSON.parse('{"__proto__": {"polluted": "yes", "isComplete": true}, "title": "t"}') as unknown
  const data = accepted(create(body))
  t.equal(data.title, 't', 'title read')
  t.equal(data.isComplete, false, 'isComplete not taken from __proto__')
  t.equal((data as Record<string, unknown>).polluted, undefined, 'nothing from __proto__ on the result')
  t.equal(({} as Record<string, unknown>).polluted, undefined, 'Object.prototype not polluted')
  t.equal(Object.getPrototypeOf(data), Object.prototype, 'the result is a plain object')

  const viaRequest = parse(request('{"__proto__": {"polluted": "yes"}, "title": "t", "constructor": {"prototype": {"polluted": "yes"}}}'))
  t.equal(viaRequest.status, 'ok', 'accepted through parseJsonBody')
  t.equal(({} as Record<string, unknown>).polluted, undefined, 'still not polluted')
  t.end()
})

test('the message lists every problem, in field order', (t) => {
  t.equal(
    problems(create({ title: '   ', detail: 'd'.repeat(1001) })),
    'title: Title is required, detail: Detail must not exceed 1000 characters',
    'the spec example',
  )
  t.equal(
    problems(create({ title: 'x'.repeat(101), detail: 'd'.repeat(1001), dueAt: 'invalid-date', isComplete: 'true' })),
    'title: Title must not exceed 100 characters, detail: Detail must not exceed 1000 characters, dueAt: Due date must be a valid ISO8601 timestamp, isComplete: isComplete must be a boolean',
    'four problems on create',
  )
  t.equal(
    problems(replace({ dueAt: '2025-12-31' })),
    'title: Title is required, dueAt: Due date must be a valid ISO8601 timestamp, isComplete: isComplete is required',
    'three problems on replace',
  )
  t.end()
})

test('a body that is valid JSON but not an object is rejected', (t) => {
  for (const [body, what] of [[[], 'array'], [null, 'null'], ['text', 'string'], [42, 'number'], [true, 'boolean']] as Array<[unknown, string]>) {
    t.equal(problems(create(body)), 'Request body must be a JSON object', `${what} on create`)
    t.equal(problems(replace(body)), 'Request body must be a JSON object', `${what} on replace`)
  }
  t.end()
})

// ---------------------------------------------------------------- If-Match

test('If-Match: absent, *, a list of strong ETags', (t) => {
  t.equal(ifMatchCondition(undefined), undefined, 'absent: no condition')
  const any = ifMatchCondition('*')
  t.equal(any?.(1), true, '* matches version 1')
  t.equal(any?.(42), true, '* matches version 42')
  t.equal(ifMatchCondition('  *  ')?.(7), true, '* with white space around')
  const three = ifMatchCondition('"3"')
  t.equal(three?.(3), true, '"3" matches version 3')
  t.equal(three?.(2), false, '"3" does not match version 2')
  t.equal(three?.(33), false, '"3" does not match version 33')
  const list = ifMatchCondition('"1", "3","5"')
  t.equal(list?.(3), true, 'a list containing the current ETag matches')
  t.equal(list?.(5), true, 'the last one of the list matches')
  t.equal(list?.(4), false, 'a list without it does not')
  t.equal(ifMatchCondition('W/"3"')?.(3), false, 'a weak ETag never matches (strong comparison)')
  t.equal(ifMatchCondition('3')?.(3), false, 'an unquoted version is not an ETag')
  t.end()
})

// ---------------------------------------------------------------- parseJsonBody

test('parseJsonBody: JSON media types are accepted', (t) => {
  const body = '{"title":"t"}'
  for (const type of [
    'application/json',
    'application/json; charset=utf-8',
    'application/json;charset=UTF-8',
    'Application/JSON',
    'application/merge-patch+json',
    'application/vnd.api+json; charset=utf-8',
  ]) {
    const result = parse(request(body, type))
    t.equal(result.status === 'ok' ? (result.data as { title: string }).title : JSON.stringify(result), 't', `${type} accepted`)
  }
  t.end()
})

test('parseJsonBody: anything else with a body is 415', (t) => {
  const expected = { status: 415, message: 'Content-Type must be application/json' }
  for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/jsonp', 'text/json', 'application/xml', '']) {
    t.deepEqual(parse(request('{"title":"t"}', type)), expected, `"${type}" is 415`)
  }
  t.deepEqual(parse(request('{"title":"t"}', null)), expected, 'no Content-Type with a body is 415')
  t.end()
})

test('parseJsonBody: 400 for a missing, blank, malformed or invalid body', (t) => {
  t.deepEqual(parse(request(undefined)), { status: 400, message: 'Request body is required' }, 'no body')
  t.deepEqual(parse(request('')), { status: 400, message: 'Request body is required' }, 'empty body')
  t.deepEqual(parse(request(' \n\t ')), { status: 400, message: 'Request body is required' }, 'white-space body')
  t.deepEqual(parse(request(undefined, null)), { status: 400, message: 'Request body is required' }, 'no body and no Content-Type')
  t.deepEqual(parse(request('{"title":')), { status: 400, message: 'Invalid JSON in request body' }, 'truncated JSON')
  t.deepEqual(parse(request("{'title':'t'}")), { status: 400, message: 'Invalid JSON in request body' }, 'single quotes')
  t.deepEqual(parse(request('{"title":"t"} x')), { status: 400, message: 'Invalid JSON in request body' }, 'trailing garbage')
  t.deepEqual(parse(request('null')), { status: 400, message: 'Validation failed: Request body must be a JSON object' }, 'JSON null')
  t.deepEqual(parse(request('[{"title":"t"}]')), { status: 400, message: 'Validation failed: Request body must be a JSON object' }, 'JSON array')
  t.deepEqual(parse(request('"t"')), { status: 400, message: 'Validation failed: Request body must be a JSON object' }, 'JSON string')
  t.deepEqual(
    parse(request('{"title":" ","detail":"' + 'd'.repeat(1001) + '"}')),
    { status: 400, message: 'Validation failed: title: Title is required, detail: Detail must not exceed 1000 characters' },
    'the full Validation failed message',
  )
  t.deepEqual(
    parse(request('{"title":"t"}'), replaceTaskSchema),
    { status: 400, message: 'Validation failed: isComplete: isComplete is required' },
    'the schema given is the one used',
  )
  t.end()
})

test('parseJsonBody: 64 KiB limit counted in bytes', (t) => {
  t.equal(MAX_BODY_BYTES, 65536, 'the limit is 64 KiB')
  const padded = (bytes: number, fill = 'p'): string => {
    const head = '{"title":"t","pad":"'
    const tail = '"}'
    const fillBytes = Buffer.byteLength(fill)
    const room = bytes - head.length - tail.length
    if (room % fillBytes !== 0) throw new Error('bad padding size')
    return head + fill.repeat(room / fillBytes) + tail
  }
  t.equal(Buffer.byteLength(padded(65536)), 65536, '(a body of exactly 64 KiB)')
  const atLimit = parse(request(padded(65536)))
  t.equal(atLimit.status, 'ok', 'exactly 64 KiB is accepted')
  t.deepEqual(parse(request(padded(65537))), { status: 413, message: 'Request body must not exceed 65536 bytes' }, 'one byte over is 413')
  const twoByteChars = padded(65536 + 22, '\u00e9')
  t.ok(twoByteChars.length < 65536, '(fewer than 64 Ki characters)')
  t.deepEqual(parse(request(twoByteChars)), { status: 413, message: 'Request body must not exceed 65536 bytes' }, 'bytes are counted, not characters')
  t.end()
})

test('parseJsonBody: precedence 415, then 413, then 400', (t) => {
  const big = 'x'.repeat(70_000) // neither JSON nor small
  t.deepEqual(parse(request(big, 'text/plain')), { status: 415, message: 'Content-Type must be application/json' }, 'not JSON and too large: 415')
  t.deepEqual(parse(request(big, null)), { status: 415, message: 'Content-Type must be application/json' }, 'no Content-Type and too large: 415')
  t.deepEqual(parse(request(big)), { status: 413, message: 'Request body must not exceed 65536 bytes' }, 'JSON type, too large and malformed: 413')
  t.deepEqual(
    parse(request(JSON.stringify({ title: '', detail: 'd'.repeat(70_000) }))),
    { status: 413, message: 'Request body must not exceed 65536 bytes' },
    'too large and invalid: 413',
  )
  t.deepEqual(parse(request('{not json', 'text/plain')), { status: 415, message: 'Content-Type must be application/json' }, 'not JSON type and malformed: 415')
  t.deepEqual(parse(request('{"title":""}', 'text/plain')), { status: 415, message: 'Content-Type must be application/json' }, 'not JSON type and invalid: 415')
  t.end()
})

// ---------------------------------------------------------------- raw event body

function event(body: string | undefined, isBase64Encoded: boolean, headers: Record<string, string | undefined> = { 'Content-Type': 'application/json' }): APIGatewayProxyEventV2 {
  return {
    version: '2.0',
    routeKey: 'POST /tasks',
    rawPath: '/tasks',
    rawQueryString: '',
    headers,
    queryStringParameters: { limit: '5', skipped: undefined },
    pathParameters: { taskId: 'abc' },
    requestContext: {
      accountId: '000000000000',
      apiId: 'api',
      domainName: 'localhost',
      domainPrefix: 'localhost',
      http: { method: 'post', path: '/tasks', protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent: 'test' },
      requestId: 'req-1',
      routeKey: 'POST /tasks',
      stage: '$default',
      time: '01/Jan/2025:00:00:00 +0000',
      timeEpoch: 0,
    },
    isBase64Encoded,
    ...(body !== undefined && { body }),
  }
}

test('toApiRequest: base64 bodies are decoded, headers lower-cased', (t) => {
  const json = JSON.stringify({ title: `caf\u00e9 ${EMOJI}`, detail: 'base64' })
  const fromBase64 = toApiRequest(event(Buffer.from(json, 'utf8').toString('base64'), true))
  t.equal(fromBase64.rawBody?.toString('utf8'), json, 'base64 body decoded to the original bytes')
  t.equal(fromBase64.headers['content-type'], 'application/json', 'header names lower-cased')
  t.equal(fromBase64.method, 'POST', 'method upper-cased')
  t.equal(fromBase64.requestId, 'req-1', 'request id kept')
  t.deepEqual(fromBase64.query, { limit: '5' }, 'undefined query values dropped')
  t.deepEqual(fromBase64.params, { taskId: 'abc' }, 'path parameters kept')
  const parsed = parse(fromBase64)
  t.deepEqual(
    parsed.status === 'ok' ? (parsed.data as { title: string; detail: string }) : parsed,
    { title: `caf\u00e9 ${EMOJI}`, detail: 'base64', isComplete: false },
    'a base64 body parses like a plain one',
  )

  const plain = toApiRequest(event(json, false))
  t.equal(plain.rawBody?.toString('utf8'), json, 'a plain body is taken as UTF-8')

  const invalidBase64 = toApiRequest(event(Buffer.from('{"title":', 'utf8').toString('base64'), true))
  t.deepEqual(parse(invalidBase64), { status: 400, message: 'Invalid JSON in request body' }, 'malformed JSON inside base64 is 400')

  const none = toApiRequest(event(undefined, false))
  t.equal(none.rawBody, undefined, 'no body stays no body')
  t.deepEqual(parse(none), { status: 400, message: 'Request body is required' }, 'and is 400 Request body is required')

  const bigBase64 = toApiRequest(event(Buffer.from('x'.repeat(70_000)).toString('base64'), true, { 'content-type': 'text/plain' }))
  t.deepEqual(parse(bigBase64), { status: 415, message: 'Content-Type must be application/json' }, 'base64 body with a non-JSON type is 415')
  const bigJsonBase64 = toApiRequest(event(Buffer.from('x'.repeat(65537)).toString('base64'), true))
  t.deepEqual(parse(bigJsonBase64), { status: 413, message: 'Request body must not exceed 65536 bytes' }, 'the limit applies to the decoded bytes')
  t.end()
})

// ---------------------------------------------------------------- CORS setting

test('CORS_ALLOW_ORIGIN defaults to *', (t) => {
  t.equal(readHttpSettings({}).corsAllowOrigin, '*', 'unset')
  t.equal(readHttpSettings({ CORS_ALLOW_ORIGIN: '' }).corsAllowOrigin, '*', 'empty')
  t.equal(readHttpSettings({ CORS_ALLOW_ORIGIN: 'https://app.example' }).corsAllowOrigin, 'https://app.example', 'set')
  t.end()
})
