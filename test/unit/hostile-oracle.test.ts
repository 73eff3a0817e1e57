import test from 'tape'
import {
  answerProblems,
  ifMatchOutcomes,
  jsonBodyOutcome,
  mediaKind,
  outcomeProblems,
  rawBodyOutcomes,
  rfc3339Instant,
  routedAs,
  routeOf,
  taskProblems,
  type Answer,
  type Outcome,
} from '../helpers/hostile/oracle.ts'

/**
 * The hostile-input properties are only as good as their oracle: here it is
 * checked on answers whose verdict the contract (SPEC.md "HTTP contract")
 * makes plain, so that a wrong oracle fails here instead of passing a wrong
 * app or failing a right one.
 */

const TASK = { id: '6a822774-7f8a-4b86-ae40-c4fc84c9e41e', title: 'Buy milk', isComplete: false, version: 1, createdAt: '2026-01-01T00:00:00.000Z', updatedAt: '2026-01-01T00:00:00.000Z' }
const CORS = { 'access-control-allow-origin': '*', 'access-control-expose-headers': 'ETag, Location, Link, WWW-Authenticate' }

function answer(status: number, text: string, headers: Record<string, string> = { ...CORS, 'content-type': 'application/json' }, wireBytes?: number): Answer {
  return { status, text, header: (name) => headers[name] ?? null, ...(wireBytes !== undefined && { wireBytes }) }
}
const created = (fields: Record<string, unknown>): Answer => answer(201, JSON.stringify({ ...TASK, ...fields }))
const message = (outcome: Outcome): string | undefined => ('message' in outcome ? outcome.message : undefined)

test('taskProblems: a task as the contract shows it passes; each way off the contract is named', (t) => {
  t.deepEqual(taskProblems(TASK), [], 'a plain task')
  t.deepEqual(taskProblems({ ...TASK, detail: 'd'.repeat(1000), dueAt: '2025-12-31T23:59:59.000Z', title: '\u{1F600}'.repeat(100) }), [], 'every field at its limit')
  const cases: Array<[Record<string, unknown>, RegExp]> = [
    [{ ...TASK, ownerId: 'alice' }, /unexpected fields ownerId/],
    [{ ...TASK, id: 'not-a-uuid' }, /is not a UUID/],
    [{ ...TASK, title: ' \u00a0\t' }, /empty or only white space/],
    [{ ...TASK, title: 'x'.repeat(101) }, /title has 101 characters/],
    [{ ...TASK, detail: 'x'.repeat(1001) }, /detail is not a string of at most 1000/],
    [{ ...TASK, dueAt: '2025-12-31T23:59:59Z' }, /dueAt .* is not a normalised UTC timestamp/],
    [{ ...TASK, isComplete: 'true' }, /isComplete "true" is not a boolean/],
    [{ ...TASK, version: 0 }, /version 0 is not an integer >= 1/],
    [{ ...TASK, updatedAt: '2025-01-01T00:00:00.000Z' }, /updatedAt before createdAt/],
  ]
  for (const [task, problem] of cases) t.match(taskProblems(task).join('; '), problem, problem.source)
  t.match(taskProblems([TASK]).join(), /not a task object/, 'an array is no task')
  t.end()
})

test('answerProblems: the headers, type and error body every app answer carries', (t) => {
  t.deepEqual(answerProblems(answer(400, '{"message":"Invalid JSON in request body"}'), 'POST'), [], 'a JSON error')
  t.deepEqual(answerProblems(answer(204, '', CORS), 'DELETE'), [], 'a 204 without a type or body')
  t.deepEqual(answerProblems(answer(404, '', CORS, 0), 'HEAD'), [], 'a HEAD without body bytes')
  t.match(answerProblems(answer(500, '{"message":"Internal server error"}'), 'GET').join(), /a 500/, 'a 5xx is wrong whatever its body')
  t.match(answerProblems(answer(200, '[]', { 'content-type': 'application/json' }), 'GET').join(), /Access-Control-Allow-Origin null/, 'without CORS headers')
  t.match(answerProblems(answer(200, '[]', { ...CORS, 'content-type': 'text/plain' }), 'GET').join(), /Content-Type text\/plain/)
  t.match(answerProblems(answer(200, '<html>', CORS), 'GET').join(), /body is not JSON/)
  t.match(answerProblems(answer(400, '{"message":"x","detail":"y"}'), 'POST').join(), /not exactly \{"message"/, 'an error body with more than the message')
  t.match(answerProblems(answer(400, '{"message":""}'), 'POST').join(), /not exactly \{"message"/, 'an empty message')
  t.match(answerProblems(answer(204, 'x', CORS), 'PUT').join(), /a 204 with a body/)
  t.match(answerProblems(answer(404, '', CORS, 27), 'HEAD').join(), /HEAD answered with 27 body bytes/)
  t.end()
})

test('rfc3339Instant: RFC 3339 date-times as instants; anything else, or an instant outside years 0000..9999, is none', (t) => {
  t.equal(rfc3339Instant('2025-12-31T23:59:59Z'), Date.UTC(2025, 11, 31, 23, 59, 59))
  t.equal(rfc3339Instant('2026-01-01T01:30:00.5+02:00'), Date.UTC(2025, 11, 31, 23, 30, 0, 500), 'an offset and a fraction')
  t.equal(rfc3339Instant('2025-06-30t12:00:00.123456z'), Date.UTC(2025, 5, 30, 12, 0, 0, 123) + 0.456, 'lower-case t and z, sub-millisecond digits kept')
  t.equal(rfc3339Instant('2024-02-29T12:00:00Z'), Date.UTC(2024, 1, 29, 12), 'a leap day')
  t.equal(rfc3339Instant('9999-12-31T23:59:59.999Z'), Date.UTC(9999, 11, 31, 23, 59, 59, 999), 'the last instant')
  for (const value of ['2023-02-29T12:00:00Z', '2025-02-30T00:00:00Z', '2025-13-01T00:00:00Z', '2025-12-31T24:00:00Z', '2025-12-31T23:60:00Z', '2025-12-31T23:59:59+24:00', '2025-12-31T23:59:59+01:60', '2025-12-31', '2025-12-31 23:59:59Z', '2025-12-31T23:59:59', '+002025-12-31T00:00:00Z', '0000-01-01T00:00:00+00:01', '9999-12-31T23:59:59-00:01']) {
    t.equal(rfc3339Instant(value), undefined, `${value}: none`)
  }
  t.end()
})

test('jsonBodyOutcome: 413, then 400 required, invalid JSON, not an object, every validation problem in field order; else the fields', (t) => {
  t.deepEqual(jsonBodyOutcome('{"title":"x"}', 65_537, 'create'), { status: 413, message: 'Request body must not exceed 65536 bytes' }, 'over 64 KiB, whatever it holds')
  t.equal(jsonBodyOutcome('{"title":"x"}', 65_536, 'create').status, 201, 'exactly 64 KiB is no 413')
  t.equal(message(jsonBodyOutcome(' \n', 2, 'create')), 'Request body is required')
  t.equal(message(jsonBodyOutcome('{"title":', 9, 'create')), 'Invalid JSON in request body')
  t.equal(message(jsonBodyOutcome('[{"title":"x"}]', 15, 'create')), 'Validation failed: Request body must be a JSON object')
  t.equal(message(jsonBodyOutcome('null', 4, 'create')), 'Validation failed: Request body must be a JSON object')
  t.equal(
    message(jsonBodyOutcome(JSON.stringify({ isComplete: 'true', dueAt: '2025-12-31', detail: 'd'.repeat(1001), title: '  ' }), 80, 'create')),
    'Validation failed: title: Title is required, detail: Detail must not exceed 1000 characters, dueAt: Due date must be a valid ISO8601 timestamp, isComplete: isComplete must be a boolean',
    'every problem, in the order of the fields, whatever the order of the keys',
  )
  t.equal(message(jsonBodyOutcome('{"title":7}', 11, 'create')), 'Validation failed: title: Title must be a string')
  t.equal(message(jsonBodyOutcome('{"__proto__":{"title":"x"}}', 27, 'create')), 'Validation failed: title: Title is required', 'nothing taken from __proto__')
  t.equal(message(jsonBodyOutcome('{"title":"x"}', 13, 'replace')), 'Validation failed: isComplete: isComplete is required', 'a replace needs isComplete')
  t.deepEqual(
    jsonBodyOutcome('{"title":" x ","detail":null,"dueAt":"2025-12-31T23:59:59+01:00","isComplete":true,"id":"mine"}', 90, 'replace'),
    { status: 200, fields: { title: ' x ', detail: undefined, dueAtMs: Date.UTC(2025, 11, 31, 22, 59, 59), isComplete: true } },
    'a replace: the title as given, null detail absent, the instant of dueAt, unknown keys ignored',
  )
  t.deepEqual(jsonBodyOutcome('{"title":"x"}', 13, 'create'), { status: 201, fields: { title: 'x', detail: undefined, dueAtMs: undefined, isComplete: false } }, 'a create: isComplete false by default')
  t.end()
})

test('outcomeProblems: the status, the exact message, or the task with the fields sent', (t) => {
  const success: Outcome = { status: 201, fields: { title: 'Buy milk', detail: undefined, dueAtMs: Date.UTC(2025, 11, 31, 22, 59, 59, 500), isComplete: false } }
  t.equal(outcomeProblems(created({ dueAt: '2025-12-31T22:59:59.500Z' }), success), undefined, 'the task as sent')
  t.match(outcomeProblems(answer(400, '{"message":"x"}'), success) ?? '', /expected 201, got 400/)
  t.match(outcomeProblems(created({ dueAt: '2025-12-31T22:59:59.000Z' }), success) ?? '', /dueAt .* is not the instant sent/, 'another instant')
  t.match(outcomeProblems(created({ dueAt: '2025-12-31T22:59:59.500Z', title: 'Buy milk ' }), success) ?? '', /title .* is not the one sent/, 'a trimmed or changed title')
  t.match(outcomeProblems(created({ dueAt: '2025-12-31T22:59:59.500Z', detail: '' }), success) ?? '', /detail .* is not the one sent/)
  t.match(outcomeProblems(created({ dueAt: '2025-12-31T22:59:59.500Z', isComplete: true }), success) ?? '', /isComplete true is not false/)
  t.equal(outcomeProblems(answer(400, '{"message":"Request body is required"}'), { status: 400, message: 'Request body is required' }), undefined)
  t.match(outcomeProblems(answer(400, '{"message":"Invalid JSON in request body"}'), { status: 400, message: 'Request body is required' }) ?? '', /expected message/)
  t.end()
})

test('mediaKind and rawBodyOutcomes: JSON types, other types, and the choices the spec leaves open', (t) => {
  for (const type of ['application/json', 'Application/JSON; charset=utf-8', 'application/problem+json', 'application/vnd.api+json; ext=x']) t.equal(mediaKind(type), 'json', `${type}: JSON`)
  for (const type of [null, 'text/plain', 'application/jsonp', 'application/json-seq', 'json', ';application/json', '']) t.equal(mediaKind(type), 'other', `${type}: not JSON`)
  t.equal(mediaKind('text/json'), 'either', 'text/json: either answer is fair')
  const valid = Buffer.from('{"title":"x"}')
  t.deepEqual(rawBodyOutcomes(['text/plain'], 'json', valid, 'create'), [{ status: 415, message: 'Content-Type must be application/json' }], 'a body of another type: 415 only')
  t.deepEqual(rawBodyOutcomes([], 'none', undefined, 'create'), [{ status: 400, message: 'Request body is required' }], 'no body at all: 400, whatever the type')
  t.equal(rawBodyOutcomes(['application/json'], 'bom', Buffer.from(`\ufeff${valid.toString()}`), 'create').map((outcome) => outcome.status).join(), '400,201', 'a BOM: refused as JSON, or skipped')
  t.deepEqual(rawBodyOutcomes(['application/json'], 'utf16', Buffer.from(valid.toString(), 'utf16le'), 'create').map((outcome) => outcome.status).sort(), [201, 400, 400], 'UTF-16: refused, or honoured')
  t.equal(rawBodyOutcomes(['text/plain', 'application/json'], 'json', valid, 'create').map((outcome) => outcome.status).join(), '415,201', 'a repeated Content-Type: either header may decide')
  t.end()
})

test('ifMatchOutcomes: * or none always matches; a list with a strong numeric tag may; anything else never does', (t) => {
  const success: Outcome[] = [{ status: 200, fields: { title: 'x', detail: undefined, dueAtMs: undefined, isComplete: true } }]
  const stale: Outcome = { status: 412, message: 'Task has changed since the given ETag (If-Match)' }
  t.deepEqual(ifMatchOutcomes(null, success), success)
  t.deepEqual(ifMatchOutcomes(' * ', success), success)
  t.deepEqual(ifMatchOutcomes('"1", "2"', success), [...success, stale])
  t.deepEqual(ifMatchOutcomes('', success), [...success, stale], 'an empty If-Match: ignoring and failing it are both fair')
  for (const value of ['W/"1"', '1', '""', '"1.0"', '" 1"', 'W/*']) t.deepEqual(ifMatchOutcomes(value, success), [stale], `${value}: never matches`)
  t.end()
})

test('routeOf and routedAs: which handler the sandbox gives a method and path', (t) => {
  t.deepEqual(routeOf('/tasks'), { kind: 'list' })
  t.deepEqual(routeOf('/TASKS/'), { kind: 'list' }, 'literals case-insensitive, one trailing slash')
  t.deepEqual(routeOf('/tasks/a%2Fb'), { kind: 'task', id: 'a/b' }, 'the id decoded')
  t.deepEqual(routeOf('/tasks/x/Notifications'), { kind: 'notifications', id: 'x' })
  t.deepEqual(routeOf('/tasks//x'), { kind: 'other' }, 'an empty segment')
  t.deepEqual(routeOf('/tasks/x/y/z'), { kind: 'other' })
  t.equal(routeOf('/tasks/%zz'), 'undecodable', 'a malformed escape')
  t.equal(routedAs('OPTIONS', { kind: 'other' }), 'preflight')
  t.equal(routedAs('HEAD', { kind: 'task', id: 'x' }), 'read')
  t.equal(routedAs('POST', { kind: 'list' }), 'create')
  t.equal(routedAs('PATCH', { kind: 'task', id: 'x' }), 'unknown')
  t.equal(routedAs('POST', { kind: 'notifications', id: 'x' }), 'unknown')
  t.end()
})
