import { join } from 'node:path'
import { ScanCommand, type AttributeValue } from '@aws-sdk/client-dynamodb'
import fc from 'fast-check'
import { exportSPKI, generateKeyPair, importJWK, SignJWT, type CryptoKey, type JWTHeaderParameters } from 'jose'
import test from 'tape'
import { LOCAL_AUDIENCE, localIssuerDir, localIssuerUrl, signingKey } from '../src/plugins/queue-leveling/local-issuer.ts'
import type { Task } from '../src/lib/tasks/task.ts'
import { ROOT, startTestApp, TEST_CALLER, TEST_PORTS, type TestApp } from './helpers/app.ts'
import { rawRequest, type RawRequest, type RawResponse } from './helpers/hostile-raw.ts'
import { apiClient, type ApiResponse } from './helpers/http.ts'
import { localTables } from './helpers/tables.ts'

/**
 * Hostile input, property-based (fast-check): random and adversarial requests
 * against the real app in the Architect sandbox. Whatever comes in, the API
 * answers with a valid task or a JSON `{"message"}` 4xx, never a 5xx, and
 * stores nothing invalid; at the end the store holds exactly the tasks the
 * test saw created, each in the last state the test saw written. Requests
 * are made as one signed-in caller, except in property 3b, whose requests
 * carry every kind of wrong credentials and must all be turned away (401)
 * without a trace in the store.
 *
 * Each fast-check run sends three requests at once (never more in flight:
 * the sandbox starts a process per invocation and a busier machine pushes it
 * past its Lambda timeout), and run counts are small: a request costs about
 * a quarter of a second here.
 *
 * Where a request has one right answer the SPEC.md and README.md contract
 * gives (status and exact message), the check is that answer, computed by an
 * oracle written from the spec rules (not from the app's code). Where the spec
 * leaves a choice (a byte order mark, invalid UTF-8 in a string, a UTF-16
 * charset, duplicate Content-Type headers), every reasonable answer is listed
 * and the app must give one of them.
 *
 * Replay: every property runs with the seed printed at the top
 * (`HOSTILE_SEED=<n>` picks another); a failure prints fast-check's report
 * with the shrunk counterexample, its seed and path.
 */

const SEED = Number(process.env.HOSTILE_SEED ?? 20251128)
const TIME_LIMIT_MS = 150_000 // per property, shrinking included; an interruption fails the test
const IN_FLIGHT = 3

type Assert = test.Test

let app: TestApp
let api: ReturnType<typeof apiClient>

// ---------------------------------------------------------------- bookkeeping

let requests = 0
const statuses = new Map<number, number>()
/** Every task a 201 answered, by id, and the 201s counted one by one. */
const created = new Map<string, Task>()
let createdCount = 0
/** The newest state of each task any 200/201 answered (highest version). */
const newest = new Map<string, Task>()
/** Versions a successful PUT produced, per task: two answers with one version would be a lost update. */
const versionsSeen = new Map<string, Set<number>>()
let deletes = 0
/** Answers produced by the sandbox's own router (not the app): malformed `%` escapes in a path. */
let sandboxRejections = 0

function count(status: number): void {
  requests++
  statuses.set(status, (statuses.get(status) ?? 0) + 1)
}

function histogram(from: Map<number, number>): string {
  return [...from.entries()]
    .sort(([a], [b]) => a - b)
    .map(([status, n]) => `${status}x${n}`)
    .join(' ')
}

/** Requests and statuses since `mark()`. */
function since(mark: { requests: number; statuses: Map<number, number> }): string {
  const delta = new Map<number, number>()
  for (const [status, n] of statuses) {
    const d = n - (mark.statuses.get(status) ?? 0)
    if (d) delta.set(status, d)
  }
  return `${requests - mark.requests} requests: ${histogram(delta)}`
}

const mark = () => ({ requests, statuses: new Map(statuses) })

// ---------------------------------------------------------------- answers

/** One answer, from fetch or from the raw socket client. */
interface Answer {
  status: number
  header(name: string): string | null
  text: string
  /** Bytes after the header block as sent on the wire (raw client only). */
  wireBytes?: number
}

const fromFetch = (res: ApiResponse<unknown>): Answer => ({ status: res.status, header: (name) => res.headers.get(name), text: res.text })
const fromRaw = (res: RawResponse): Answer => ({ status: res.status, header: (name) => res.headers[name] ?? null, text: res.text, wireBytes: res.wireBody.length })

async function send(method: string, path: string, body: Buffer | undefined, headers: Record<string, string> = {}): Promise<Answer> {
  const res = await api(method, path, { ...(body !== undefined && { rawBody: body }), headers })
  count(res.status)
  return fromFetch(res)
}

/** Sent as written, as the test caller unless the request carries its own Authorization. */
async function sendRaw(request: RawRequest): Promise<Answer> {
  const own = request.headers?.some(([name]) => name.toLowerCase() === 'authorization')
  const res = await rawRequest(TEST_PORTS.PORT, own ? request : { ...request, headers: [['authorization', `Bearer ${app.token}`], ...(request.headers ?? [])] })
  count(res.status)
  return fromRaw(res)
}

/** The three requests of one run, at once; answers in order. */
const together = <T>(jobs: Array<() => Promise<T>>): Promise<T[]> => {
  if (jobs.length > IN_FLIGHT) throw new Error(`at most ${IN_FLIGHT} requests in flight`)
  return Promise.all(jobs.map((job) => job()))
}

// ---------------------------------------------------------------- the spec, as checks

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/
const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/
const MAX_BODY = 64 * 1024
const TASK_KEYS = new Set(['id', 'title', 'detail', 'dueAt', 'isComplete', 'version', 'createdAt', 'updatedAt'])
const codePoints = (value: string): number => [...value].length

/** A normalised UTC timestamp that is a real instant and round-trips. */
const isUtcTimestamp = (value: unknown): boolean =>
  typeof value === 'string' && ISO_UTC.test(value) && !Number.isNaN(Date.parse(value)) && new Date(value).toISOString() === value

/** Everything wrong with a task as the API returned or listed it (SPEC.md "Task"). */
function taskProblems(value: unknown): string[] {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return [`not a task object: ${preview(JSON.stringify(value))}`]
  const task = value as Record<string, unknown>
  const problems: string[] = []
  const extra = Object.keys(task).filter((key) => !TASK_KEYS.has(key))
  if (extra.length) problems.push(`unexpected fields ${extra.join(', ')}`)
  if (typeof task.id !== 'string' || !UUID.test(task.id)) problems.push(`id ${preview(JSON.stringify(task.id))} is not a UUID`)
  if (typeof task.title !== 'string') problems.push('title is not a string')
  else {
    if (task.title.trim() === '') problems.push(`title ${JSON.stringify(task.title)} is empty or only white space`)
    if (codePoints(task.title) > 100) problems.push(`title has ${codePoints(task.title)} characters`)
  }
  if ('detail' in task && (typeof task.detail !== 'string' || codePoints(task.detail) > 1000)) problems.push(`detail is not a string of at most 1000 characters`)
  if ('dueAt' in task && !isUtcTimestamp(task.dueAt)) problems.push(`dueAt ${preview(JSON.stringify(task.dueAt))} is not a normalised UTC timestamp`)
  if (typeof task.isComplete !== 'boolean') problems.push(`isComplete ${JSON.stringify(task.isComplete)} is not a boolean`)
  if (typeof task.version !== 'number' || !Number.isInteger(task.version) || task.version < 1) problems.push(`version ${JSON.stringify(task.version)} is not an integer >= 1`)
  if (!isUtcTimestamp(task.createdAt)) problems.push(`createdAt ${JSON.stringify(task.createdAt)} is not a UTC timestamp`)
  if (!isUtcTimestamp(task.updatedAt)) problems.push(`updatedAt ${JSON.stringify(task.updatedAt)} is not a UTC timestamp`)
  else if (typeof task.createdAt === 'string' && (task.updatedAt as string) < task.createdAt) problems.push('updatedAt before createdAt')
  return problems
}

function preview(text: string | undefined, max = 160): string {
  if (text === undefined) return 'undefined'
  return text.length > max ? `${text.slice(0, max)}... (${text.length} chars)` : text
}

/** The CORS headers, JSON type and a parseable body every app answer but a 204 (or a HEAD) carries. */
function answerProblems(answer: Answer, method: string): string[] {
  const problems: string[] = []
  if (answer.status >= 500) problems.push(`a ${answer.status}`)
  if (answer.header('access-control-allow-origin') !== '*') problems.push(`Access-Control-Allow-Origin ${answer.header('access-control-allow-origin')}`)
  if (answer.header('access-control-expose-headers') !== 'ETag, Location, Link, WWW-Authenticate') problems.push(`Access-Control-Expose-Headers ${answer.header('access-control-expose-headers')}`)
  if (method === 'HEAD') {
    if (answer.wireBytes !== undefined && answer.wireBytes !== 0) problems.push(`HEAD answered with ${answer.wireBytes} body bytes`)
    return problems
  }
  if (answer.status === 204) {
    if (answer.text !== '') problems.push('a 204 with a body')
    return problems
  }
  if (answer.header('content-type') !== 'application/json') problems.push(`Content-Type ${answer.header('content-type')}`)
  try {
    JSON.parse(answer.text)
  } catch {
    problems.push(`body is not JSON: ${preview(answer.text)}`)
  }
  if (answer.status >= 400) {
    let message: unknown
    try {
      const parsed: unknown = JSON.parse(answer.text)
      if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) && Object.keys(parsed).length === 1) message = (parsed as { message?: unknown }).message
    } catch {
      // reported above
    }
    if (typeof message !== 'string' || message === '' || answer.text !== JSON.stringify({ message })) {
      problems.push(`error body is not exactly {"message": <non-empty string>}: ${preview(answer.text)}`)
    }
  }
  return problems
}

const messageOf = (answer: Answer): string | undefined => {
  try {
    return (JSON.parse(answer.text) as { message?: string }).message
  } catch {
    return undefined
  }
}

// ---------------------------------------------------------------- the body oracle

/** What a task body asks for, once valid. */
interface Fields {
  title: string
  detail: string | undefined
  /** The instant dueAt names, in (possibly fractional) milliseconds. */
  dueAtMs: number | undefined
  isComplete: boolean
}

/** One acceptable answer: a status, and either the exact error message or the fields of the task. */
type Outcome = { status: number; message: string } | { status: 200 | 201; fields: Fields }

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(?:[Zz]|([+-])(\d{2}):(\d{2}))$/

const isLeap = (year: number): boolean => (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0
const DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]

/**
 * The instant an RFC 3339 date-time names, or undefined when it is not one:
 * fields in range, and an instant that has a UTC form of the same shape
 * (years 0000..9999), since the API returns it normalised to UTC.
 */
function rfc3339Instant(value: string): number | undefined {
  const m = RFC3339.exec(value)
  if (!m) return undefined
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number]
  if (month < 1 || month > 12) return undefined
  const days = month === 2 && isLeap(year) ? 29 : (DAYS[month - 1] ?? 0)
  if (day < 1 || day > days || hour > 23 || minute > 59 || second > 59) return undefined
  const [sign, offsetHours, offsetMinutes] = [m[8], Number(m[9] ?? 0), Number(m[10] ?? 0)]
  if (offsetHours > 23 || offsetMinutes > 59) return undefined
  const date = new Date(0)
  date.setUTCFullYear(year, month - 1, day)
  date.setUTCHours(hour, minute, second, 0)
  const offsetMs = (sign === '-' ? -1 : 1) * (offsetHours * 60 + offsetMinutes) * 60_000
  const instant = date.getTime() - offsetMs + Number(`0.${m[7] ?? '0'}`) * 1000
  const utcYear = new Date(Math.floor(instant)).getUTCFullYear()
  return utcYear >= 0 && utcYear <= 9999 ? instant : undefined
}

/**
 * The answer the contract gives a JSON body (SPEC.md "HTTP contract", README
 * "Choices where the spec is silent"): 413 over 64 KiB; 400 `Request body is
 * required`, `Invalid JSON in request body`, or `Validation failed: ...` with
 * every problem in field order; else success with the fields as given.
 */
function jsonBodyOutcome(text: string, bytes: number, op: 'create' | 'replace'): Outcome {
  if (bytes > MAX_BODY) return { status: 413, message: `Request body must not exceed ${MAX_BODY} bytes` }
  if (text.trim() === '') return { status: 400, message: 'Request body is required' }
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch {
    return { status: 400, message: 'Invalid JSON in request body' }
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) return { status: 400, message: 'Validation failed: Request body must be a JSON object' }
  const own = (key: string): unknown => (Object.prototype.hasOwnProperty.call(json, key) ? (json as Record<string, unknown>)[key] : undefined)
  const problems: string[] = []
  const title = own('title')
  if (title === undefined || title === null) problems.push('title: Title is required')
  else if (typeof title !== 'string') problems.push('title: Title must be a string')
  else if (title.trim() === '') problems.push('title: Title is required')
  else if (codePoints(title) > 100) problems.push('title: Title must not exceed 100 characters')
  const detail = own('detail')
  if (detail !== undefined && detail !== null) {
    if (typeof detail !== 'string') problems.push('detail: Detail must be a string')
    else if (codePoints(detail) > 1000) problems.push('detail: Detail must not exceed 1000 characters')
  }
  const dueAt = own('dueAt')
  const dueAtMs = typeof dueAt === 'string' ? rfc3339Instant(dueAt) : undefined
  if (dueAt !== undefined && dueAt !== null && dueAtMs === undefined) problems.push('dueAt: Due date must be a valid ISO8601 timestamp')
  const isComplete = own('isComplete')
  if (isComplete === undefined && op === 'replace') problems.push('isComplete: isComplete is required')
  else if (isComplete !== undefined && typeof isComplete !== 'boolean') problems.push('isComplete: isComplete must be a boolean')
  if (problems.length) return { status: 400, message: `Validation failed: ${problems.join(', ')}` }
  return {
    status: op === 'create' ? 201 : 200,
    fields: { title: title as string, detail: typeof detail === 'string' ? detail : undefined, dueAtMs, isComplete: isComplete === true },
  }
}

/** Problems with `answer` as `outcome` (undefined: it is that answer). */
function outcomeProblems(answer: Answer, outcome: Outcome): string | undefined {
  if (answer.status !== outcome.status) return `expected ${outcome.status}${'message' in outcome ? ` ${outcome.message}` : ''}, got ${answer.status} ${preview(answer.text)}`
  if ('message' in outcome) return messageOf(answer) === outcome.message ? undefined : `expected message ${preview(outcome.message)}, got ${preview(answer.text)}`
  let task: Task
  try {
    task = JSON.parse(answer.text) as Task
  } catch {
    return `success without a JSON task: ${preview(answer.text)}`
  }
  const { fields } = outcome
  const wrong: string[] = []
  if (task.title !== fields.title) wrong.push(`title ${preview(JSON.stringify(task.title))} is not the one sent ${preview(JSON.stringify(fields.title))}`)
  if (task.detail !== fields.detail) wrong.push(`detail ${preview(JSON.stringify(task.detail))} is not the one sent ${preview(JSON.stringify(fields.detail))}`)
  if (fields.dueAtMs === undefined ? task.dueAt !== undefined : !(isUtcTimestamp(task.dueAt) && Math.abs(Date.parse(task.dueAt as string) - fields.dueAtMs) < 1)) {
    wrong.push(`dueAt ${JSON.stringify(task.dueAt)} is not the instant sent (${fields.dueAtMs === undefined ? 'none' : new Date(Math.floor(fields.dueAtMs)).toISOString()})`)
  }
  if (task.isComplete !== fields.isComplete) wrong.push(`isComplete ${task.isComplete} is not ${fields.isComplete}`)
  return wrong.length ? wrong.join('; ') : undefined
}

/** The answer is one of the acceptable outcomes; a 201 or 200 is recorded and its task checked. */
function outcomeCheck(answer: Answer, outcomes: Outcome[], target: string | undefined): string[] {
  const problems: string[] = []
  const misses = outcomes.map((outcome) => outcomeProblems(answer, outcome))
  if (!misses.includes(undefined)) problems.push(misses.join(' | or | '))
  if (answer.status === 201 || answer.status === 200) problems.push(...recordTask(answer, answer.status, target))
  return problems
}

/** Everything about the answer to a POST or PUT. */
const judgeWrite = (answer: Answer, method: string, outcomes: Outcome[], target: string | undefined): string[] => [
  ...answerProblems(answer, method),
  ...outcomeCheck(answer, outcomes, target),
]

/** A 201 or 200 with a task: valid, headers right, remembered for the end. */
function recordTask(answer: Answer, status: number, target: string | undefined): string[] {
  let task: Task
  try {
    task = JSON.parse(answer.text) as Task
  } catch {
    return []
  }
  const problems = taskProblems(task)
  if (answer.header('etag') !== `"${task.version}"`) problems.push(`ETag ${answer.header('etag')} is not "${task.version}"`)
  if (status === 201) {
    if (answer.header('location') !== `/tasks/${task.id}`) problems.push(`Location ${answer.header('location')}`)
    if (task.version !== 1) problems.push(`version ${task.version} on create`)
    if (task.createdAt !== task.updatedAt) problems.push('createdAt differs from updatedAt on create')
    if (created.has(task.id)) problems.push(`id ${task.id} created twice`)
    created.set(task.id, task)
    createdCount++
  } else if (target !== undefined) {
    const original = created.get(target)
    if (task.id !== target) problems.push(`PUT /tasks/${target} answered task ${task.id}`)
    if (original && task.createdAt !== original.createdAt) problems.push('createdAt changed on PUT')
    if (task.version < 2) problems.push(`version ${task.version} after a PUT`)
    const seen = versionsSeen.get(task.id) ?? new Set<number>()
    if (seen.has(task.version)) problems.push(`two successful PUTs both produced version ${task.version} (a lost update)`)
    seen.add(task.version)
    versionsSeen.set(task.id, seen)
  }
  const known = newest.get(task.id)
  if (!known || known.version < task.version) newest.set(task.id, task)
  return problems
}

// ---------------------------------------------------------------- arbitraries: strings

const LONE_SURROGATES = ['\ud800', '\udbff', '\udc00', '\udfff']
/** Every one of these is white space to JavaScript's trim(). */
const WHITE_SPACE = [' ', '\t', '\n', '\r', '\v', '\f', '\u00a0', '\u1680', '\u2000', '\u200a', '\u2028', '\u2029', '\u202f', '\u205f', '\u3000', '\ufeff']
const EMOJI = ['\u{1F600}', '\u{1F95B}', '\u{1F468}\u200d\u{1F469}\u200d\u{1F467}', '\u{1F1FA}\u{1F1F8}', '\u2764\ufe0f', '\u{1F3FD}']
const NASTY = ['"', '\\', '\u0000', '\u001f', '\u007f', '\u0085', '\u200b', '\u202e', '</script>', '%00', '${x}', "'; DROP TABLE tasks;--", '{{7*7}}', '\\u0000']

/** One piece of text: mostly printable, with lone surrogates, emoji, white space and worse mixed in. */
const unit: fc.Arbitrary<string> = fc.oneof(
  { weight: 6, arbitrary: fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 1 }) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 1 }) },
  { weight: 1, arbitrary: fc.constantFrom(...LONE_SURROGATES) },
  { weight: 1, arbitrary: fc.constantFrom(...WHITE_SPACE) },
  { weight: 1, arbitrary: fc.constantFrom(...EMOJI) },
  { weight: 1, arbitrary: fc.constantFrom(...NASTY) },
)

const text = (maxLength: number): fc.Arbitrary<string> => fc.string({ unit, maxLength })
/** Around the 100 and 1000 character limits, in single code points (ASCII, emoji, lone low surrogates). */
const nearLimit: fc.Arbitrary<string> = fc
  .tuple(fc.constantFrom(99, 100, 101, 999, 1000, 1001), fc.constantFrom('a', '\u{1F600}', '\u00e9', '\udc00'), fc.constantFrom('', ' ', '\u{1F600}'))
  .map(([n, piece, lead]) => lead + piece.repeat(n))
const whiteOnly: fc.Arbitrary<string> = fc.array(fc.constantFrom(...WHITE_SPACE), { minLength: 0, maxLength: 12 }).map((parts) => parts.join(''))
/** Long enough to reach and pass the 64 KiB body limit on their own. */
const huge: fc.Arbitrary<string> = fc.tuple(unit, fc.integer({ min: 2_000, max: 40_000 })).map(([piece, n]) => piece.repeat(n))

// ---------------------------------------------------------------- arbitraries: JSON text

const NUMBERS = ['0', '-0', '1', '-1', '0.1', '1E2', '1e999', '-1e999', '1e-999', '123456789012345678901234567890', '9007199254740993', '-1.5e+300', '4.9e-324']
const ESCAPED = ['"\\ud800"', '"\\udc00\\ud800"', '"\\u0000"', '"\\u2028\\u2029"', '"\\/"', '"\\ud83d\\ude00"', '"a\\nb"']
const KEYS = ['__proto__', 'constructor', 'prototype', 'title', 'detail', 'dueAt', 'isComplete', 'id', 'version', 'createdAt', 'updatedAt', 'toString', 'valueOf', 'hasOwnProperty', '__defineGetter__', '']

const jsonString = (arb: fc.Arbitrary<string>): fc.Arbitrary<string> => arb.map((value) => JSON.stringify(value))

const leaf: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom('null', 'true', 'false'),
  fc.constantFrom(...NUMBERS),
  fc.double({ noNaN: true, noDefaultInfinity: true }).map((n) => JSON.stringify(n)),
  fc.integer().map(String),
  jsonString(text(12)),
  fc.constantFrom(...ESCAPED),
)

const key: fc.Arbitrary<string> = fc.oneof(fc.constantFrom(...KEYS), text(8))

/** JSON text of any shape, written out by hand so that keys may repeat and `__proto__` is a plain key. */
const { json: jsonText } = fc.letrec<{ json: string; array: string; object: string }>((tie) => ({
  json: fc.oneof({ depthSize: 'small', withCrossShrink: true }, leaf, tie('array'), tie('object')),
  array: fc.array(tie('json'), { maxLength: 4 }).map((items) => `[${items.join(',')}]`),
  object: fc.array(fc.tuple(key, tie('json')), { maxLength: 5 }).map((entries) => `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${v}`).join(',')}}`),
}))

const deep: fc.Arbitrary<string> = fc
  .tuple(fc.integer({ min: 100, max: 20_000 }), fc.constantFrom('[', '{"title":'), fc.boolean())
  .map(([depth, open, asField]) => {
    const close = open === '[' ? ']' : '}'
    const nested = open.repeat(depth) + (open === '[' ? '' : '"deep"') + close.repeat(depth)
    return asField ? `{"title":"Deep","extra":${nested}}` : nested
  })

/** An RFC 3339-shaped date-time, fields mostly in range, often at the ends of the calendar (0000-01-01, 9999-12-31) with an offset. */
const dateTime: fc.Arbitrary<string> = fc
  .record({
    year: fc.oneof(fc.constantFrom(0, 0, 1, 1969, 1970, 2000, 2024, 2025, 9999, 9999), fc.integer({ min: 0, max: 9999 })),
    month: fc.oneof({ weight: 6, arbitrary: fc.constantFrom(1, 2, 12) }, { weight: 6, arbitrary: fc.integer({ min: 1, max: 12 }) }, { weight: 1, arbitrary: fc.constantFrom(0, 13) }),
    day: fc.oneof({ weight: 6, arbitrary: fc.constantFrom(1, 28, 29, 30, 31) }, { weight: 6, arbitrary: fc.integer({ min: 1, max: 28 }) }, { weight: 1, arbitrary: fc.constantFrom(0, 32) }),
    hour: fc.oneof({ weight: 10, arbitrary: fc.constantFrom(0, 23) }, { weight: 10, arbitrary: fc.integer({ min: 0, max: 23 }) }, { weight: 1, arbitrary: fc.constant(24) }),
    minute: fc.oneof({ weight: 10, arbitrary: fc.constantFrom(0, 59) }, { weight: 10, arbitrary: fc.integer({ min: 0, max: 59 }) }, { weight: 1, arbitrary: fc.constant(60) }),
    second: fc.oneof(fc.constantFrom(0, 59), fc.integer({ min: 0, max: 59 })),
    fraction: fc.option(fc.stringMatching(/^\d{1,12}$/)),
    separator: fc.constantFrom('T', 'T', 'T', 'T', 't', ' '),
    zone: fc.oneof(
      { weight: 4, arbitrary: fc.constantFrom('Z', 'Z', 'z', '+00:00', '-00:00') },
      { weight: 1, arbitrary: fc.constantFrom('', '+0100', '+01') },
      {
        weight: 6,
        arbitrary: fc
          .tuple(fc.constantFrom('+', '-'), fc.oneof({ weight: 8, arbitrary: fc.integer({ min: 0, max: 23 }) }, { weight: 1, arbitrary: fc.constant(24) }), fc.constantFrom(0, 1, 30, 45, 59, 59, 60))
          .map(([sign, h, m]) => `${sign}${String(h).padStart(2, '0')}:${String(m).padStart(2, '0')}`),
      },
    ),
  })
  .map(({ year, month, day, hour, minute, second, fraction, separator, zone }) => {
    const two = (n: number) => String(n).padStart(2, '0')
    return `${String(year).padStart(4, '0')}-${two(month)}-${two(day)}${separator}${two(hour)}:${two(minute)}:${two(second)}${fraction === null ? '' : `.${fraction}`}${zone}`
  })

/** A local time on the first or last day of the calendar with an offset: the UTC instant may fall outside years 0000..9999. */
const calendarEdge: fc.Arbitrary<string> = fc
  .record({
    end: fc.boolean(),
    hour: fc.integer({ min: 0, max: 23 }),
    minute: fc.integer({ min: 0, max: 59 }),
    sign: fc.constantFrom('+', '-'),
    offsetHours: fc.integer({ min: 0, max: 23 }),
    offsetMinutes: fc.integer({ min: 0, max: 59 }),
  })
  .map(({ end, hour, minute, sign, offsetHours, offsetMinutes }) => {
    const two = (n: number) => String(n).padStart(2, '0')
    return `${end ? '9999-12-31' : '0000-01-01'}T${two(hour)}:${two(minute)}:${end ? '59.999' : '00'}${sign}${two(offsetHours)}:${two(offsetMinutes)}`
  })

const badDates = ['2025-12-31', 'invalid-date', '', ' ', '2025-12-31T23:59:59', '2025-12-31T23:59:59.Z', '+002025-12-31T00:00:00Z', '2025-W01-1', '1735689599', '2025-12-31T23:59:59.000Z ', '\u0662\u0660\u0662\u0665-01-01T00:00:00Z', '2024-02-29T12:00:00Z', '2023-02-29T12:00:00Z', '2025-12-31T23:59:59.000Z']

const wrongType: fc.Arbitrary<string> = fc.oneof(fc.constantFrom('null', 'true', 'false', '0', '1', '[]', '{}', '["x"]', '{"title":"x"}', '1e999', '"true"'), jsonText)

/** A body shaped like a task: each field absent, valid, at a limit, or wrong; junk keys; sometimes padded to the 64 KiB edge. */
const taskBody: fc.Arbitrary<string> = fc
  .record({
    title: fc.option(
      fc.oneof(
        { weight: 10, arbitrary: jsonString(text(20)) },
        { weight: 2, arbitrary: jsonString(nearLimit) },
        { weight: 1, arbitrary: jsonString(whiteOnly) },
        { weight: 1, arbitrary: jsonString(huge) },
        { weight: 2, arbitrary: wrongType },
      ),
      { freq: 6 },
    ),
    detail: fc.option(fc.oneof({ weight: 8, arbitrary: jsonString(text(40)) }, { weight: 2, arbitrary: jsonString(nearLimit) }, { weight: 1, arbitrary: jsonString(huge) }, { weight: 2, arbitrary: wrongType }), {
      freq: 2,
    }),
    dueAt: fc.option(
      fc.oneof({ weight: 6, arbitrary: jsonString(dateTime) }, { weight: 2, arbitrary: jsonString(calendarEdge) }, { weight: 1, arbitrary: jsonString(fc.constantFrom(...badDates)) }, { weight: 1, arbitrary: wrongType }),
      { freq: 3 },
    ),
    isComplete: fc.option(fc.oneof({ weight: 8, arbitrary: fc.constantFrom('true', 'false') }, { weight: 1, arbitrary: wrongType }), { freq: 3 }),
    junk: fc.array(fc.tuple(key, jsonText), { maxLength: 3 }),
    padTo: fc.option(fc.constantFrom(MAX_BODY - 1, MAX_BODY, MAX_BODY + 1, 100_000), { freq: 8 }),
    space: fc.constantFrom('', ' ', '\n\t '),
  })
  .map(({ title, detail, dueAt, isComplete, junk, padTo, space }) => {
    const entries: Array<[string, string]> = [...junk]
    for (const [name, value] of [['title', title], ['detail', detail], ['dueAt', dueAt], ['isComplete', isComplete]] as const) {
      if (value !== null) entries.splice(entries.length ? name.length % (entries.length + 1) : 0, 0, [name, value])
    }
    let body = `${space}{${entries.map(([k, v]) => `${JSON.stringify(k)}${space}:${space}${v}`).join(',')}}${space}`
    if (padTo !== null) {
      const room = padTo - Buffer.byteLength(body) - Buffer.byteLength(',"pad":""')
      if (room >= 0 && body.trim().endsWith('}') && entries.length) body = `${body.trimEnd().slice(0, -1)},"pad":"${'p'.repeat(room)}"}`
    }
    return body
  })

/** A body that is valid or nearly so, every field at or near a limit: the success path, at its edges. */
const edgeTaskBody: fc.Arbitrary<string> = fc
  .record(
    {
      title: fc.oneof(text(20), nearLimit.filter((title) => codePoints(title) <= 101)),
      detail: fc.oneof(text(40), nearLimit, fc.constant(null)),
      dueAt: fc.oneof(calendarEdge, dateTime, fc.constant(null)),
      isComplete: fc.boolean(),
    },
    { requiredKeys: ['title', 'isComplete'] },
  )
  .map((body) => JSON.stringify(body))

/** Any JSON body: task-shaped most of the time, else anything, or nested very deep. */
const anyJsonBody: fc.Arbitrary<string> = fc.oneof({ weight: 5, arbitrary: taskBody }, { weight: 3, arbitrary: edgeTaskBody }, { weight: 2, arbitrary: jsonText }, { weight: 1, arbitrary: deep })

// ---------------------------------------------------------------- arbitraries: raw bodies and headers

const JSON_TYPES = ['application/json', 'application/json; charset=utf-8', 'Application/JSON;Charset=UTF-8', 'application/json ; charset="utf-8"', 'application/problem+json', 'application/vnd.api+json; ext=x', 'application/merge-patch+json']
const OTHER_TYPES = ['text/plain', 'text/json', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/octet-stream', 'image/gif', 'application/jsonp', 'application/json-seq', 'application/xml', '*/*', 'json', ';application/json', '']

/** Printable ASCII and some bytes above 0x7F (latin1), as a header value may carry. */
const headerText = (maxLength: number): fc.Arbitrary<string> =>
  fc.string({ unit: fc.oneof({ weight: 8, arbitrary: fc.integer({ min: 0x20, max: 0x7e }) }, { weight: 1, arbitrary: fc.integer({ min: 0x80, max: 0xff }) }).map((c) => String.fromCharCode(c)), maxLength }).map((value) => value.trim())

const contentType: fc.Arbitrary<string | null> = fc.option(
  fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom(...JSON_TYPES) },
    { weight: 3, arbitrary: fc.constantFrom(...OTHER_TYPES) },
    { weight: 1, arbitrary: headerText(40) },
    { weight: 1, arbitrary: fc.integer({ min: 100, max: 300 }).map((n) => `application/json; ${'p=v; '.repeat(n)}q=1`) },
  ),
  { freq: 6 },
)

type RawBodyKind = 'json' | 'bytes' | 'invalid-utf8' | 'base64' | 'empty' | 'white' | 'utf16' | 'bom' | 'none'

const validTask: fc.Arbitrary<string> = fc
  .record({ title: text(30).filter((title) => title.trim() !== '' && codePoints(title) <= 100), isComplete: fc.boolean() })
  .map((body) => JSON.stringify(body))

const rawBody: fc.Arbitrary<{ kind: RawBodyKind; bytes: Buffer | undefined }> = fc.oneof(
  { weight: 3, arbitrary: anyJsonBody.map((body) => ({ kind: 'json' as const, bytes: Buffer.from(body) })) },
  { weight: 2, arbitrary: validTask.map((body) => ({ kind: 'json' as const, bytes: Buffer.from(body) })) },
  { weight: 2, arbitrary: fc.uint8Array({ minLength: 1, maxLength: 300 }).map((bytes) => ({ kind: 'bytes' as const, bytes: Buffer.from(bytes) })) },
  {
    weight: 2,
    arbitrary: fc.tuple(validTask, fc.uint8Array({ minLength: 1, maxLength: 4 }).map((b) => Buffer.from(b.map((x) => x | 0x80)))).map(([body, junk]) => {
      // Bytes that are no UTF-8 inside the title string: `{"title":"<bytes>...`.
      const start = Buffer.from(body.slice(0, '{"title":"'.length))
      return { kind: 'invalid-utf8' as const, bytes: Buffer.concat([start, junk, Buffer.from(body.slice('{"title":"'.length))]) }
    }),
  },
  { weight: 1, arbitrary: validTask.map((body) => ({ kind: 'base64' as const, bytes: Buffer.from(Buffer.from(body).toString('base64')) })) },
  { weight: 1, arbitrary: fc.constant({ kind: 'empty' as const, bytes: Buffer.alloc(0) }) },
  { weight: 1, arbitrary: fc.constantFrom(' ', '\n', '\r\n\t  ', ' '.repeat(70_000)).map((body) => ({ kind: 'white' as const, bytes: Buffer.from(body) })) },
  {
    weight: 1,
    arbitrary: fc.tuple(validTask, fc.boolean()).map(([body, le]) => {
      const bytes = Buffer.from(body, 'utf16le')
      if (!le) bytes.swap16()
      return { kind: 'utf16' as const, bytes }
    }),
  },
  { weight: 1, arbitrary: validTask.map((body) => ({ kind: 'bom' as const, bytes: Buffer.from(`\ufeff${body}`) })) },
  { weight: 1, arbitrary: fc.constant({ kind: 'none' as const, bytes: undefined }) },
)

const IF_MATCH = ['*', ' * ', '"1"', 'W/"1"', '"1", "2", "3"', '"999"', '1', '""', '"', ',', '*, "1"', 'W/*', '"-1"', '"1.0"', '" 1"']

const oddHeader: fc.Arbitrary<[string, string]> = fc.oneof(
  fc.tuple(fc.constant('If-Match'), fc.oneof(fc.constantFrom(...IF_MATCH), headerText(30))),
  fc.tuple(fc.constantFrom('X-Long', 'Accept', 'User-Agent', 'Cookie', 'X-Forwarded-For'), fc.integer({ min: 1, max: 4_000 }).map((n) => 'v'.repeat(n))),
  // Not Authorization: a request of its own credentials is property 3b's, whose oracle knows what they decide.
  fc.tuple(fc.constantFrom('Accept', 'Accept-Charset', 'Content-Language', 'X-Amzn-Trace-Id', 'Origin', 'X-Odd_Name'), headerText(60)),
  fc.tuple(fc.constant('Content-Encoding'), fc.constantFrom('gzip', 'br', 'identity', 'x')),
)

// ---------------------------------------------------------------- the media-type oracle

/** Media type as the spec reads it: JSON, clearly not JSON, or a garbage value either way is fair for. */
function mediaKind(header: string | null): 'json' | 'other' | 'either' {
  if (header === null) return 'other'
  const type = header.split(';')[0]?.trim().toLowerCase() ?? ''
  if (type === 'application/json' || /^[a-z0-9.-]+\/[a-z0-9.-]+\+json$/.test(type)) return 'json'
  if (!type.endsWith('json') || !type.includes('/')) return 'other'
  return 'either'
}

/** Acceptable outcomes of a raw body with these Content-Type values (several when the header repeats). */
function rawBodyOutcomes(types: Array<string | null>, kind: RawBodyKind, bytes: Buffer | undefined, op: 'create' | 'replace'): Outcome[] {
  const outcomes: Outcome[] = []
  const hasBody = bytes !== undefined && bytes.length > 0
  for (const type of types.length ? types : [null]) {
    const media = mediaKind(type)
    if (hasBody && media !== 'json') outcomes.push({ status: 415, message: 'Content-Type must be application/json' })
    if (hasBody && media === 'other') continue
    const asUtf8 = bytes === undefined ? '' : bytes.toString('utf8')
    outcomes.push(jsonBodyOutcome(asUtf8, bytes?.length ?? 0, op))
    // Where the spec leaves the choice: a BOM may be skipped, bytes that are no UTF-8 may be refused, UTF-16 may be honoured.
    if (kind === 'bom') outcomes.push(jsonBodyOutcome(asUtf8.replace(/^\ufeff/, ''), bytes?.length ?? 0, op))
    if (kind === 'invalid-utf8' || kind === 'utf16') outcomes.push({ status: 400, message: 'Invalid JSON in request body' })
    if (kind === 'utf16' && bytes) {
      const copy = Buffer.from(bytes)
      const le = copy[0] !== 0
      outcomes.push(jsonBodyOutcome((le ? copy : copy.swap16()).toString('utf16le'), bytes.length, op))
    }
  }
  return outcomes
}

/** 412 and 200 as `If-Match` decides: `*` or absent always matches; no strong numeric tag never does. */
function ifMatchOutcomes(ifMatch: string | null, success: Outcome[]): Outcome[] {
  if (ifMatch === null || ifMatch.trim() === '*') return success
  const stale: Outcome = { status: 412, message: 'Task has changed since the given ETag (If-Match)' }
  // An empty If-Match is no valid condition: ignoring it and failing it are both fair.
  if (ifMatch.trim() === '') return [...success, stale]
  const tags = ifMatch.split(',').map((tag) => tag.trim())
  return tags.some((tag) => /^"\d+"$/.test(tag)) ? [...success, stale] : [stale]
}

// ---------------------------------------------------------------- paths

/** Percent-encodes everything a path segment may not carry as is (UTF-8 bytes, so a lone surrogate goes as U+FFFD). */
const encodeSegment = (value: string): string =>
  [...Buffer.from(value, 'utf8')].map((byte) => (byte < 0x80 && /[A-Za-z0-9\-._~!$&'()*+,;=:@]/.test(String.fromCharCode(byte)) ? String.fromCharCode(byte) : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`)).join('')

const METHODS = ['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD'] as const
type Method = (typeof METHODS)[number]

/** A segment as written on the request line. `@id` stands for an existing task's id, filled in at run time. */
const segment: fc.Arbitrary<string> = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom('tasks', 'tasks', 'tasks', 'TASKS', 'Tasks', 'notifications', 'NOTIFICATIONS', '..', '.', '', 'task', 'tasks.json', 'index.html') },
  { weight: 3, arbitrary: text(12).map(encodeSegment) },
  { weight: 2, arbitrary: fc.constantFrom('@id', '@id', '@ID') },
  { weight: 1, arbitrary: fc.constantFrom('%00', '%2F', '%2e%2e', '%2e', '%252F', '..%2F..%2F', '%C0%AE', '%E2%80%AE', '%F0%9F%98%80', '00000000-0000-4000-8000-000000000000') },
  { weight: 1, arbitrary: fc.constantFrom('%', '%zz', '%ff', '%c3%28', 'a%2', '%u0041', '%%') },
  { weight: 1, arbitrary: fc.integer({ min: 1_000, max: 7_000 }).map((n) => 'x'.repeat(n)) }, // a DynamoDB key holds at most 2048 bytes
)

const QUERY_LIMITS = ['0', '1', '2', '7', '50', '100', '101', '-1', '1.0', '1e2', 'abc', '', '%00', '%ff', '1%20', '%201', '+1', '0x10', '01', '001', '0100', '%D9%A1', '9'.repeat(400), '1&limit=2', '[]']
const query: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: fc.constant('') },
  { weight: 3, arbitrary: fc.constantFrom(...QUERY_LIMITS).map((limit) => `?limit=${limit}`) },
  {
    weight: 2,
    arbitrary: fc
      .oneof(
        fc.constantFrom('garbage', '', '%', '%ff', 'eyJ9', 'e30', '@cursor', 'eyJhZnRlciI6MX0'),
        fc.oneof(fc.string(), fc.integer(), fc.constant(null), fc.constant('x'.repeat(3_000))).map((after) => Buffer.from(JSON.stringify({ after })).toString('base64url')),
        text(20).map(encodeSegment),
      )
      .chain((cursor) => fc.constantFrom(`?cursor=${cursor}`, `?limit=2&cursor=${cursor}`, `?cursor=${cursor}&cursor=${cursor}`)),
  },
  { weight: 1, arbitrary: fc.constantFrom('?', '?&&', '?limit', '?limit=1&limit=1', '?__proto__[limit]=1', '?constructor=1&limit=3', '?limit[]=1', '?%ff=1') },
)

interface PathCase {
  method: Method
  segments: string[]
  trailingSlash: boolean
  query: string
  /** Only for POST and PUT: none, or a valid task. */
  body: string | null
  contentType: string
}

const pathCase: fc.Arbitrary<PathCase> = fc.record({
  method: fc.constantFrom(...METHODS),
  segments: fc.oneof(
    fc.array(segment, { minLength: 1, maxLength: 5 }),
    fc.tuple(fc.constantFrom('tasks', 'TASKS'), segment).map((pair) => [...pair]),
    fc.tuple(fc.constant('tasks'), segment, fc.constantFrom('notifications', 'x', 'NOTIFICATIONS')).map((triple) => [...triple]),
  ),
  trailingSlash: fc.constantFrom(false, false, false, true),
  query,
  body: fc.option(validTask, { freq: 2 }),
  contentType: fc.constantFrom('application/json', 'text/plain'),
})
  // The request line counts against Node's 16 KiB header limit: a longer one never reaches the app.
  .filter((c) => c.segments.join('/').length <= 9_000)

/** Which route the sandbox gives a path: its router matches literals case-insensitively and allows one trailing slash. */
type Route = { kind: 'list' } | { kind: 'task'; id: string } | { kind: 'notifications'; id: string } | { kind: 'other' }

function routeOf(path: string): Route | 'undecodable' {
  const segments = (path.length > 1 && path.endsWith('/') ? path.slice(1, -1) : path.slice(1)).split('/')
  const decoded: string[] = []
  for (const raw of segments) {
    try {
      decoded.push(decodeURIComponent(raw))
    } catch {
      return 'undecodable'
    }
  }
  if (segments.some((raw) => raw === '')) return { kind: 'other' }
  const literal = (index: number, word: string) => segments[index]?.toLowerCase() === word
  if (segments.length === 1 && literal(0, 'tasks')) return { kind: 'list' }
  if (segments.length === 2 && literal(0, 'tasks')) return { kind: 'task', id: decoded[1] as string }
  if (segments.length === 3 && literal(0, 'tasks') && literal(2, 'notifications')) return { kind: 'notifications', id: decoded[1] as string }
  return { kind: 'other' }
}

/** Which of the app's handlers answers a method on a route: a task route, the preflight, or the JSON 404. */
type Routed = 'preflight' | 'list' | 'create' | 'read' | 'replace' | 'delete' | 'notifications' | 'unknown'

function routedAs(method: string, route: Route): Routed {
  if (method === 'OPTIONS') return 'preflight'
  const reads = method === 'GET' || method === 'HEAD'
  if (route.kind === 'list') return reads ? 'list' : method === 'POST' ? 'create' : 'unknown'
  if (route.kind === 'task') return reads ? 'read' : method === 'PUT' ? 'replace' : method === 'DELETE' ? 'delete' : 'unknown'
  if (route.kind === 'notifications') return reads ? 'notifications' : 'unknown'
  return 'unknown'
}

const LIMIT_MESSAGE = 'limit must be a whole number from 1 to 100'

// ---------------------------------------------------------------- arbitraries: Authorization

/**
 * What the server makes of an Authorization header as written on the wire:
 * - `app`: it reaches the app, which answers (401 on a task route);
 * - `server`: Node's HTTP parser refuses the request (a bare CR or LF, NUL,
 *   DEL, folding) with a plain 400 before any Lambda runs, as API Gateway
 *   refuses malformed requests with its own 400;
 * - `either`: one of those two, when the bytes sneak a second header in that
 *   the parser may or may not accept;
 * - `too-large`: over Node's 16 KiB header limit: a 431, or the connection
 *   closed while the request is still being written;
 * - `size-edge`: within a few hundred bytes of that limit, either way.
 */
type AuthFate = 'app' | 'server' | 'either' | 'too-large' | 'size-edge'

interface AuthCase {
  what: string
  /** Authorization lines as sent (none, one, or two), `@forged<n>` standing for forged token n, filled in at run time. */
  lines: string[]
  fate: AuthFate
  /** No credentials at all (no header, or a blank one): `WWW-Authenticate: Bearer` exactly, no error code. */
  none: boolean
}

const authCase = (what: string, lines: string[], fate: AuthFate = 'app', none = false): AuthCase => ({ what, lines, fate, none })

const b64 = (value: unknown): string => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url')
const SCHEMES = ['Bearer ', 'Bearer ', 'bearer ', 'BEARER ', 'Bearer   ']

const OTHER_SCHEMES = [
  'Bearer',
  'Bearer ',
  'Bearer=abc',
  'BearerAbc.def.ghi',
  'Bearer\tabc.def.ghi',
  'Bearer abc def',
  'Bearer "abc.def.ghi"',
  'Bearer abc.def.ghi, Bearer abc.def.ghi',
  'Bearer ../../etc/passwd',
  "Bearer ' OR '1'='1",
  'Bearer ${jndi:ldap://127.0.0.1/x}',
  'Bearer <script>alert(1)</script>',
  'Bearer null',
  'Bearer undefined',
  'Basic dGVzdC11c2VyOnBhc3N3b3Jk',
  'Basic Og==',
  'Digest username="test-user", realm="tasks", nonce="x", response="y"',
  'Token abc',
  'JWT abc.def.ghi',
  'Negotiate YIIBhg==',
  'AWS4-HMAC-SHA256 Credential=AKIAEXAMPLE/20250101/us-east-1/execute-api/aws4_request, SignedHeaders=host, Signature=abc',
  'ApiKey 00000000-0000-4000-8000-000000000000',
]

/** JWT headers worth trying: `none` in its spellings, HMAC, other families, and keys pointed elsewhere. */
const JWT_HEADERS = [
  { alg: 'none', typ: 'JWT' },
  { alg: 'None' },
  { alg: 'NONE' },
  { alg: 'nOnE' },
  { alg: 'HS256', typ: 'JWT' },
  { alg: 'RS256', typ: 'JWT' },
  { alg: 'RS256', kid: '../../../../dev/null' },
  { alg: 'RS256', kid: "' OR 1=1 --" },
  { alg: 'RS256', jku: 'http://127.0.0.1:1/jwks.json', kid: 'x' },
  { alg: 'RS256', x5u: 'http://127.0.0.1:1/cert.pem' },
  { alg: 'RS256', jwk: { kty: 'oct', k: 'c2VjcmV0' } },
  { alg: 'ES256' },
  { alg: 'PS256' },
  { alg: 'EdDSA' },
  { alg: 'RS256', crit: ['exp'] },
  { alg: 'RS256', b64: false, crit: ['b64'] },
]

/** Three (or two, four, five) base64url parts that look like a token and are not one. */
const jwtShaped: fc.Arbitrary<string> = fc
  .record({
    header: fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...JWT_HEADERS).map(b64) }, { weight: 1, arbitrary: jsonText.map(b64) }, { weight: 1, arbitrary: fc.constantFrom('', 'e30', 'eyJ', '%%%', 'bnVsbA') }),
    payload: fc.oneof(
      {
        weight: 3,
        arbitrary: fc
          .record({ sub: fc.constantFrom('test-user', 'admin', '', '*'), exp: fc.constantFrom(0, 4_102_444_800, -1, 1e308), scope: fc.constantFrom('tasks:read tasks:write', '*', 'admin') }, { requiredKeys: [] })
          .map(b64),
      },
      { weight: 1, arbitrary: jsonText.map(b64) },
      { weight: 1, arbitrary: fc.constantFrom('', 'e30', '!!!') },
    ),
    signature: fc.oneof(fc.uint8Array({ maxLength: 300 }).map((bytes) => Buffer.from(bytes).toString('base64url')), fc.constantFrom('', 'AA', 'A', '=', 'AAAA==')),
    parts: fc.constantFrom(3, 3, 3, 3, 2, 4, 5),
  })
  .map(({ header, payload, signature, parts }) => [header, payload, signature, 'AAAA', 'BBBB'].slice(0, parts).join('.'))

/** Bytes Node's HTTP parser refuses inside a header value, each spliced into an otherwise plain one. */
const REFUSED_BYTES = ['\u0000', '\u0001', '\u0008', '\u000b', '\u000c', '\u001f', '\u007f', '\r', '\n']

const authorization: fc.Arbitrary<AuthCase> = fc.oneof(
  { weight: 2, arbitrary: fc.constant(authCase('no Authorization header', [], 'app', true)) },
  { weight: 1, arbitrary: fc.constantFrom('', ' ', '\t', '   ').map((value) => authCase(`blank ${JSON.stringify(value)}`, [value], 'app', true)) },
  { weight: 2, arbitrary: fc.constantFrom(...OTHER_SCHEMES).map((value) => authCase('another scheme, or Bearer misspelt', [value])) },
  { weight: 3, arbitrary: fc.tuple(fc.constantFrom(...SCHEMES), fc.oneof(headerText(200), fc.stringMatching(/^[A-Za-z0-9\-._~+/]{1,300}=*$/))).map(([scheme, value]) => authCase('Bearer and a random string', [`${scheme}${value}`])) },
  { weight: 4, arbitrary: fc.tuple(fc.constantFrom(...SCHEMES), jwtShaped).map(([scheme, token]) => authCase('Bearer and JWT-shaped garbage', [`${scheme}${token}`])) },
  {
    weight: 6,
    arbitrary: fc.tuple(fc.constantFrom(...SCHEMES), fc.nat({ max: 999 }), fc.constantFrom('', ' ')).map(([scheme, n, tail]) => authCase('Bearer and a forged token', [`${scheme}@forged${n}${tail}`])),
  },
  {
    weight: 2,
    arbitrary: fc.tuple(fc.constantFrom(4_000, 8_000, 12_000, 15_000, 15_500, 16_000, 16_300, 16_600, 17_000, 24_000, 65_000), fc.constantFrom('a', 'eyJhbGciOiJub25lIn0.', '.')).map(([size, piece]) => {
      const value = `Bearer ${piece.repeat(Math.ceil(size / piece.length))}`.slice(0, size)
      const fate: AuthFate = size <= 15_500 ? 'app' : size >= 17_000 ? 'too-large' : 'size-edge'
      return authCase(`a ${size}-byte value`, [value], fate)
    }),
  },
  {
    weight: 2,
    arbitrary: fc.tuple(jwtShaped, fc.constantFrom('X-Injected: 1', 'Authorization: Bearer @forged1', 'Set-Cookie: session=stolen', 'Host: evil.example.com', 'X-Forwarded-For: 127.0.0.1')).map(([token, injected]) => {
      // CRLF then a header line: the parser reads a second header (Host may clash with ours, so either fate).
      return authCase(`header injection: ${injected.split(':')[0]}`, [`Bearer ${token}\r\n${injected}`], injected.startsWith('Host') ? 'either' : 'app')
    }),
  },
  {
    weight: 2,
    arbitrary: fc.tuple(fc.constantFrom(...REFUSED_BYTES), fc.constantFrom('X-Injected: 1', ' folded', '', '\r\nGET /tasks HTTP/1.1')).map(([byte, rest]) => authCase(`a refused byte ${JSON.stringify(byte)}`, [`Bearer abc${byte}${rest}`], 'server')),
  },
  { weight: 1, arbitrary: fc.constant(authCase('obsolete line folding', ['Bearer abc\r\n def'], 'server')) },
  {
    weight: 1,
    arbitrary: fc.tuple(jwtShaped, fc.nat({ max: 999 })).map(([token, n]) => authCase('two Authorization headers, neither valid', [`Bearer ${token}`, `Bearer @forged${n}`])),
  },
)

/**
 * Tokens that look right and are not: `alg: none`, HMAC keyed with the
 * issuer's public key, a valid token's payload changed, signatures swapped or
 * cut, the issuer's own key with a claim wrong (expired, not yet valid, other
 * issuer or audience, no subject), unknown keys. Each carries both scopes, so
 * one the app wrongly took would be a 2xx, never a 403.
 */
async function forgedTokens(valid: string, other: string): Promise<Array<{ what: string; token: string }>> {
  const key = await signingKey(localIssuerDir(join(ROOT, '.tmp', 'hostile')))
  const issuerKey = await importJWK(key.privateJwk, 'RS256')
  const stranger = await generateKeyPair('RS256')
  const ecKey = await generateKeyPair('ES256')
  const publicPem = await exportSPKI((await importJWK(key.publicJwk, 'RS256')) as CryptoKey)
  const now = Math.floor(Date.now() / 1000)
  const claims = { iss: localIssuerUrl(TEST_PORTS.LOCAL_ISSUER_PORT), aud: LOCAL_AUDIENCE, sub: TEST_CALLER, scope: 'tasks:read tasks:write', iat: now, exp: now + 3600 }
  const [head = '', body = '', signature = ''] = valid.split('.')
  const payload = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as Record<string, unknown>
  const signed = (what: string, changes: Record<string, unknown>, header: JWTHeaderParameters, signingKey: CryptoKey | Uint8Array = issuerKey) => async () => {
    const withChanges = Object.fromEntries(Object.entries({ ...claims, ...changes }).filter(([, value]) => value !== undefined))
    const crit = Object.fromEntries((header.crit ?? []).map((name) => [name, true]))
    return { what, token: await new SignJWT(withChanges).setProtectedHeader(header).sign(signingKey, { crit }) }
  }
  const rs256 = { alg: 'RS256', kid: key.kid, typ: 'JWT' }
  const flipped = `${signature.slice(0, 10)}${signature[10] === 'A' ? 'B' : 'A'}${signature.slice(11)}`
  const makers = [
    async () => ({ what: 'alg none, no signature', token: `${b64({ alg: 'none', typ: 'JWT' })}.${b64(claims)}.` }),
    async () => ({ what: 'alg none, the real signature kept', token: `${b64({ alg: 'none', kid: key.kid })}.${body}.${signature}` }),
    async () => ({ what: 'alg None, no signature', token: `${b64({ alg: 'None' })}.${body}.` }),
    signed('HS256 keyed with the issuer public key (PEM)', {}, { alg: 'HS256', kid: key.kid }, new TextEncoder().encode(publicPem)),
    signed('HS256 keyed with the issuer public key (JWK)', {}, { alg: 'HS256', kid: key.kid }, new TextEncoder().encode(JSON.stringify(key.publicJwk))),
    async () => ({ what: 'payload changed: another sub', token: `${head}.${b64({ ...payload, sub: 'someone-else' })}.${signature}` }),
    async () => ({ what: 'payload changed: a year more', token: `${head}.${b64({ ...payload, exp: now + 365 * 86_400 })}.${signature}` }),
    async () => ({ what: 'payload changed: one more scope', token: `${head}.${b64({ ...payload, scope: 'tasks:read tasks:write admin' })}.${signature}` }),
    async () => ({ what: 'payload re-encoded with padding', token: `${head}.${Buffer.from(JSON.stringify(payload)).toString('base64')}.${signature}` }),
    async () => ({ what: 'signature changed in one character', token: `${head}.${body}.${flipped}` }),
    async () => ({ what: "another token's signature", token: `${head}.${body}.${other.split('.')[2] ?? ''}` }),
    async () => ({ what: 'no signature', token: `${head}.${body}.` }),
    async () => ({ what: 'one character more', token: `${valid}A` }),
    async () => ({ what: 'one character less', token: valid.slice(0, -1) }),
    async () => ({ what: 'a fourth part', token: `${valid}.${signature}` }),
    signed('expired 10 minutes ago', { iat: now - 4200, exp: now - 600 }, rs256),
    signed('not valid for another 10 minutes', { nbf: now + 600 }, rs256),
    signed('another issuer', { iss: 'http://127.0.0.1:1' }, rs256),
    signed('the issuer with a trailing slash', { iss: `${claims.iss}/` }, rs256),
    signed('another audience', { aud: 'someone-else' }, rs256),
    signed('no expiry', { exp: undefined }, rs256),
    signed('no subject', { sub: undefined }, rs256),
    signed('an empty subject', { sub: '' }, rs256),
    signed('an unknown key under the issuer key id', {}, rs256, stranger.privateKey),
    signed('an unknown key with a jku to it', {}, { alg: 'RS256', kid: 'stranger', jku: 'http://127.0.0.1:1/jwks.json' }, stranger.privateKey),
    signed('ES256, an algorithm the app does not take', {}, { alg: 'ES256', kid: key.kid }, ecKey.privateKey),
    signed('a critical header the app does not know', {}, { ...rs256, crit: ['x-must-understand'], 'x-must-understand': true }),
  ]
  return Promise.all(makers.map((make) => make()))
}

// ---------------------------------------------------------------- tests

/** Runs a property with the fixed seed; the tape assertion fails with fast-check's report. */
async function holds<T>(t: Assert, what: string, numRuns: number, property: fc.IAsyncPropertyWithHooks<[T]>): Promise<void> {
  const before = mark()
  const started = Date.now()
  const details = await fc.check(property, { seed: SEED, numRuns, plugins: [fc.interruptAfterTimeLimit(TIME_LIMIT_MS, { failOnInterrupt: true })] })
  t.comment(`${what}: ${details.numRuns} runs in ${((Date.now() - started) / 1000).toFixed(1)} s, ${since(before)}`)
  const error = details.errorInstance instanceof Error ? details.errorInstance.message : String(details.errorInstance)
  t.equal(details.failed, false, details.failed ? `${what}\n${fc.defaultReportMessage(details)}\nWhat went wrong (shrunk):\n${error}` : `${what}: ${numRuns} runs, every answer as the contract says`)
  t.equal(details.numRuns, numRuns, `${what}: all ${numRuns} runs ran`)
}

/**
 * Collects what is wrong with each answer of a run, and throws once all of
 * them are judged: every 201 of the run is recorded even when another failed.
 */
class Verdicts {
  readonly #failures: string[] = []
  add(problems: string[], described: string): void {
    if (problems.length) this.#failures.push(`${described}\n  - ${problems.join('\n  - ')}`)
  }
  settle(): void {
    if (this.#failures.length) throw new Error(this.#failures.join('\n'))
  }
}

const describeBody = (bytes: Buffer | undefined): string => (bytes === undefined ? 'no body' : `${bytes.length} bytes ${preview(JSON.stringify(bytes.toString('latin1')), 120)}`)

/** Ids of a few tasks the PUT and path properties aim at. */
const targets: string[] = []

test(`start the app (fast-check seed ${SEED}; HOSTILE_SEED=<n> to change it)`, async (t) => {
  app = await startTestApp({ name: 'hostile' })
  api = apiClient(app.baseUrl, app.token)
  const empty = await send('GET', '/tasks', undefined)
  t.equal(empty.text, '[]', 'the store starts empty')
  for (const title of ['Target one', 'Target two', 'Target three']) {
    const body = JSON.stringify({ title, detail: 'd', dueAt: '2025-12-31T23:59:59Z' })
    const answer = await send('POST', '/tasks', Buffer.from(body), { 'content-type': 'application/json' })
    t.deepEqual(judgeWrite(answer, 'POST', [jsonBodyOutcome(body, Buffer.byteLength(body), 'create')], undefined), [], `created "${title}"`)
    targets.push((JSON.parse(answer.text) as Task).id)
  }
})

test('1a. random JSON bodies to POST /tasks: a valid task or the exact 4xx the contract gives', async (t) => {
  await holds(
    t,
    'POST /tasks with random JSON',
    26,
    fc.asyncProperty(fc.array(anyJsonBody, { minLength: IN_FLIGHT, maxLength: IN_FLIGHT }), async (bodies) => {
      const answers = await together(bodies.map((body) => () => send('POST', '/tasks', Buffer.from(body), { 'content-type': 'application/json' })))
      const verdicts = new Verdicts()
      bodies.forEach((body, index) => {
        const answer = answers[index] as Answer
        verdicts.add(judgeWrite(answer, 'POST', [jsonBodyOutcome(body, Buffer.byteLength(body), 'create')], undefined), `POST /tasks ${describeBody(Buffer.from(body))}`)
      })
      verdicts.settle()
    }),
  )
})

test('1b. random JSON bodies to PUT /tasks/{existing id}: the replaced task or the exact 4xx', async (t) => {
  await holds(
    t,
    'PUT /tasks/{id} with random JSON',
    14,
    fc.asyncProperty(fc.array(fc.tuple(fc.nat({ max: 2 }), anyJsonBody), { minLength: IN_FLIGHT, maxLength: IN_FLIGHT }), async (cases) => {
      const answers = await together(cases.map(([target, body]) => () => send('PUT', `/tasks/${targets[target]}`, Buffer.from(body), { 'content-type': 'application/json' })))
      const verdicts = new Verdicts()
      cases.forEach(([target, body], index) => {
        const id = targets[target] as string
        const answer = answers[index] as Answer
        verdicts.add(judgeWrite(answer, 'PUT', [jsonBodyOutcome(body, Buffer.byteLength(body), 'replace')], id), `PUT /tasks/${id} ${describeBody(Buffer.from(body))}`)
      })
      verdicts.settle()
    }),
  )
})

test('2. odd raw bodies, content types and headers: success or a JSON 4xx, as the contract decides', async (t) => {
  const rawCase = fc.record({
    put: fc.boolean(),
    target: fc.nat({ max: 2 }),
    types: fc.oneof({ weight: 5, arbitrary: contentType.map((type) => (type === null ? [] : [type])) }, { weight: 1, arbitrary: fc.tuple(fc.constantFrom(...JSON_TYPES), fc.constantFrom(...OTHER_TYPES)).chain((pair) => fc.shuffledSubarray(pair, { minLength: 2 })) }),
    body: rawBody,
    headers: fc.array(oddHeader, { maxLength: 3 }),
  })
  await holds(
    t,
    'raw bodies and headers',
    20,
    fc.asyncProperty(fc.array(rawCase, { minLength: IN_FLIGHT, maxLength: IN_FLIGHT }), async (cases) => {
      const requests = cases.map(({ put, target, types, body, headers }) => ({
        method: put ? 'PUT' : 'POST',
        target: put ? `/tasks/${targets[target]}` : '/tasks',
        headers: [...types.map((type): [string, string] => ['Content-Type', type]), ...headers.filter(([name]) => put || name !== 'If-Match')],
        ...(body.bytes !== undefined && { body: body.bytes }),
      }))
      const answers = await together(requests.map((request) => () => sendRaw(request)))
      const verdicts = new Verdicts()
      cases.forEach(({ put, target, types, body }, index) => {
        const request = requests[index] as (typeof requests)[number]
        const answer = answers[index] as Answer
        const ifMatches = request.headers.filter(([name]) => name === 'If-Match').map(([, value]) => value)
        let outcomes = rawBodyOutcomes(types, body.kind, body.bytes, put ? 'replace' : 'create')
        if (put) {
          const ifMatch = ifMatches.length ? ifMatches.join(', ') : null
          outcomes = outcomes.flatMap((outcome) => (outcome.status === 200 ? ifMatchOutcomes(ifMatch, [outcome]) : [outcome]))
        }
        const described = `${request.method} ${request.target} [${request.headers.map(([n, v]) => `${n}: ${preview(v, 60)}`).join(' | ')}] ${body.kind} ${describeBody(body.bytes)}`
        verdicts.add(judgeWrite(answer, request.method, outcomes, put ? targets[target] : undefined), described)
      })
      verdicts.settle()
    }),
  )
})

test('3. odd methods, paths and queries: never a 5xx; JSON 404 for unknown routes; HEAD without a body', async (t) => {
  await holds(
    t,
    'methods x paths',
    30,
    fc.asyncProperty(fc.array(fc.tuple(pathCase, fc.nat({ max: 2 })), { minLength: IN_FLIGHT, maxLength: IN_FLIGHT }), async (cases) => {
      const prepared = cases.map(([c, which]) => {
        const id = targets[which] as string
        const segments = c.segments.map((raw) => (raw === '@id' ? id : raw === '@ID' ? id.toUpperCase() : raw))
        const path = `/${segments.join('/')}${c.trailingSlash ? '/' : ''}`
        const route = routeOf(path)
        // A DELETE that would hit a live task is made a GET: the count of tasks at the end must stay the count of 201s.
        const method: Method = c.method === 'DELETE' && route !== 'undecodable' && route.kind === 'task' && targets.includes(route.id) ? 'GET' : c.method
        const cursor = targets[(which + 1) % targets.length] as string
        const target = `${path}${c.query.replace('@cursor', Buffer.from(JSON.stringify({ after: cursor })).toString('base64url'))}`
        const withBody = (method === 'POST' || method === 'PUT' || method === 'PATCH') && c.body !== null
        const request: RawRequest = { method, target, ...(withBody && { body: Buffer.from(c.body as string), headers: [['Content-Type', c.contentType]] }) }
        return { c, method, route, request }
      })
      const answers = await together(prepared.map(({ request }) => () => sendRaw(request)))
      const verdicts = new Verdicts()
      prepared.forEach(({ c, method, route, request }, index) => {
        const answer = answers[index] as Answer
        const described = `${method} ${preview(request.target, 200)} ${describeBody(request.body)}`
        if (route === 'undecodable') {
          // A malformed `%` escape: the sandbox's router refuses the path (a 400 HTML page) before any Lambda runs.
          sandboxRejections++
          verdicts.add(answer.status >= 400 && answer.status < 500 ? [] : [`expected a 4xx, got ${answer.status}`], described)
          return
        }
        const problems = answerProblems(answer, method)
        const message = method === 'HEAD' ? undefined : messageOf(answer)
        const expect = (ok: boolean, what: string) => {
          if (!ok) problems.push(`${what}; got ${answer.status} ${preview(answer.text)}`)
        }
        const bodyOutcome = (op: 'create' | 'replace'): Outcome => {
          if (request.body === undefined) return { status: 400, message: 'Request body is required' }
          if (c.contentType !== 'application/json') return { status: 415, message: 'Content-Type must be application/json' }
          return jsonBodyOutcome(c.body as string, request.body.length, op)
        }
        const routed = routedAs(method, route)
        const exists = route.kind !== 'other' && route.kind !== 'list' && targets.includes(route.id)
        switch (routed) {
          case 'preflight':
            expect(answer.status === 204 && answer.header('access-control-allow-methods') === 'GET, POST, PUT, DELETE, OPTIONS', 'OPTIONS is a 204 preflight')
            break
          case 'unknown':
            expect(answer.status === 404 && (method === 'HEAD' || message === 'Not Found'), 'an unknown route is a JSON 404 Not Found')
            break
          case 'list':
          case 'notifications': {
            // Both page alike: a 200 page of at most `limit`, or a 400 about limit or cursor.
            const what = routed === 'list' ? 'GET /tasks' : 'GET /tasks/{id}/notifications'
            const params = new URLSearchParams(request.target.split('?')[1] ?? '')
            const limit = params.getAll('limit')
            const plain = request.target.split('?')[1] ?? ''
            const mustSucceed = !params.has('cursor') && (limit.length === 0 || (limit.length === 1 && /^(?:[1-9]\d?|100)$/.test(limit[0] as string) && new RegExp(`(^|&)limit=${limit[0]}(&|$)`).test(plain)))
            if (answer.status === 200 && method !== 'HEAD') {
              const page = JSON.parse(answer.text) as unknown
              expect(Array.isArray(page), `${what} answers an array`)
              if (Array.isArray(page)) {
                const max = limit.length === 1 && /^\d+$/.test(limit[0] as string) ? Number(limit[0]) : 50
                expect(page.length <= max, `a page of at most ${max}`)
                if (routed === 'list') for (const task of page) problems.push(...taskProblems(task))
                else expect(exists || page.length === 0, '[] for an id that is no task')
              }
            } else if (method !== 'HEAD') {
              expect(answer.status === 400 && (message === LIMIT_MESSAGE || message === 'Invalid cursor'), `${what} is a 200 or a 400 about limit or cursor`)
            }
            if (mustSucceed) expect(answer.status === 200, `${what} with no cursor and a limit of 1..100 (or none) succeeds`)
            break
          }
          case 'create':
            problems.push(...outcomeCheck(answer, [bodyOutcome('create')], undefined))
            break
          case 'read':
            if (exists) expect(answer.status === 200, 'GET of a live task is a 200')
            else expect(answer.status === 404 && (method === 'HEAD' || message === 'Task not found'), 'GET of any other id is a 404 Task not found')
            if (answer.status === 200 && method !== 'HEAD') problems.push(...taskProblems(JSON.parse(answer.text)))
            break
          case 'replace': {
            const outcome = bodyOutcome('replace')
            const expected: Outcome = outcome.status === 200 && !exists ? { status: 404, message: 'Task not found' } : outcome
            problems.push(...outcomeCheck(answer, [expected], route.kind === 'task' ? route.id : undefined))
            break
          }
          case 'delete':
            expect(answer.status === 404 && message === 'Task not found', 'DELETE of an id that is no task is a 404 Task not found')
            if (answer.status === 204) deletes++
            break
        }
        verdicts.add(problems, described)
      })
      verdicts.settle()
    }),
  )
  t.comment(`paths with a malformed % escape, refused by the sandbox's router: ${sandboxRejections}`)
})

/** A request of property 3b: its route, `@id` a live task and `@none` an id that is no task. */
interface AuthRoute {
  method: Method
  path: string
  query: string
  target: number
  body: 'valid' | 'invalid JSON' | 'too large' | 'text/plain'
}

/** Every route and method a token opens, and (less often) anything else, the catch-all's preflight and JSON 404 included. */
const authRoute: fc.Arbitrary<AuthRoute> = fc.record({
  pair: fc.oneof(
    {
      weight: 4,
      arbitrary: fc.constantFrom<[Method, string]>(
        ['GET', '/tasks'], ['HEAD', '/tasks'], ['POST', '/tasks'], ['GET', '/TASKS'], ['POST', '/tasks/'],
        ['GET', '/tasks/@id'], ['HEAD', '/tasks/@id'], ['PUT', '/tasks/@id'], ['DELETE', '/tasks/@id'],
        ['GET', '/tasks/@none'], ['PUT', '/tasks/@none'], ['DELETE', '/tasks/@none'],
        ['GET', '/tasks/@id/notifications'], ['GET', '/tasks/@none/notifications'],
      ),
    },
    { weight: 1, arbitrary: fc.tuple(fc.constantFrom(...METHODS), fc.constantFrom('/tasks', '/tasks/@id', '/tasks/@id/notifications', '/', '/nope', '/tasks/@id/x', '/tasks/a/b/c')) },
  ),
  query: fc.constantFrom('', '', '?limit=1', '?limit=abc', '?cursor=garbage'),
  target: fc.nat({ max: 2 }),
  // A write that got past authentication would store this; the body is never read before the token is checked, so 413/415/400 never come first.
  body: fc.constantFrom('valid', 'valid', 'invalid JSON', 'too large', 'text/plain'),
}).map(({ pair: [method, path], ...rest }) => ({ method, path, ...rest }))

test('3b. random and adversarial Authorization headers: 401 on every task route, the catch-all unchanged, never a 5xx, nothing stored', async (t) => {
  const forged = await forgedTokens(app.token, await app.mint({ sub: 'someone-else' }))
  const fill = (line: string): string => line.replace(/@forged(\d+)/g, (_, n: string) => (forged[Number(n) % forged.length] as { token: string }).token)
  const seen = new Map<string, number>()

  const prepare = (auth: AuthCase, r: AuthRoute) => {
    const id = targets[r.target] as string
    const path = r.path.replace('@id', id).replace('@none', '00000000-0000-4000-8000-000000000000')
    const writes = r.method === 'POST' || r.method === 'PUT' || r.method === 'PATCH'
    const body = r.body === 'too large' ? Buffer.alloc(MAX_BODY + 10, 'x') : r.body === 'invalid JSON' ? Buffer.from('{"title":') : Buffer.from(JSON.stringify({ title: 'Sneaked in', isComplete: true }))
    const headers: Array<[string, string]> = auth.lines.map((line): [string, string] => ['Authorization', fill(line)])
    if (writes) headers.push(['Content-Type', r.body === 'text/plain' ? 'text/plain' : 'application/json'])
    const request: RawRequest = { method: r.method, target: `${path}${r.query}`, headers, ...(writes && { body }) }
    return { auth, method: r.method, route: routeOf(path), request }
  }

  /** Sent as written: each request carries its own Authorization, or deliberately none. A closed connection is an answer too. */
  const sendAll = (prepared: Array<ReturnType<typeof prepare>>): Promise<Array<Answer | Error>> =>
    together(
      prepared.map(({ request }) => async (): Promise<Answer | Error> => {
        try {
          const res = await rawRequest(TEST_PORTS.PORT, request)
          count(res.status)
          return fromRaw(res)
        } catch (error) {
          return error as Error
        }
      }),
    )

  const judge = ({ auth, method, route, request }: ReturnType<typeof prepare>, answer: Answer | Error, verdicts: Verdicts): void => {
    const described = `${method} ${request.target} [${auth.what}: ${auth.lines.map((line) => preview(JSON.stringify(fill(line)), 100)).join(' | ') || 'no header'}]`
    seen.set(auth.what, (seen.get(auth.what) ?? 0) + 1)
    const problems: string[] = []
    const got = answer instanceof Error ? answer.message : `${answer.status} ${preview(answer.text)}`
    // The HTTP server's own refusals carry none of the app's headers: no Lambda ran.
    const byServer = (statuses: number[]): boolean => !(answer instanceof Error) && statuses.includes(answer.status) && answer.header('access-control-allow-origin') === null
    const connectionClosed = answer instanceof Error && /ECONNRESET|EPIPE|no complete answer/.test(answer.message)
    if (auth.fate === 'server' && !byServer([400])) problems.push(`expected the HTTP server's own 400, got ${got}`)
    if (auth.fate === 'too-large' && !(byServer([431]) || connectionClosed)) problems.push(`expected a 431 or a closed connection, got ${got}`)
    const reachedApp = !(answer instanceof Error) && !byServer([400, 431])
    if (auth.fate === 'app' && !reachedApp) problems.push(`expected the app's answer, got ${got}`)
    if (answer instanceof Error && !(auth.fate === 'too-large' || (auth.fate === 'size-edge' && connectionClosed))) problems.push(`no answer: ${answer.message}`)
    if (reachedApp && !(answer instanceof Error)) {
      problems.push(...answerProblems(answer, method))
      const routed = route === 'undecodable' ? 'unknown' : routedAs(method, route)
      if (routed === 'preflight') {
        if (answer.status !== 204 || answer.header('access-control-allow-methods') !== 'GET, POST, PUT, DELETE, OPTIONS') problems.push(`OPTIONS is a 204 preflight whatever the credentials; got ${got}`)
      } else if (routed === 'unknown') {
        if (answer.status !== 404 || (method !== 'HEAD' && messageOf(answer) !== 'Not Found')) problems.push(`an unknown route is the JSON 404 whatever the credentials; got ${got}`)
      } else {
        if (answer.status !== 401) problems.push(`a task route (${routed}) is a 401 without valid credentials; got ${got}`)
        if (method !== 'HEAD' && answer.text !== '{"message":"Unauthorized"}') problems.push(`the body is exactly {"message":"Unauthorized"}; got ${preview(answer.text)}`)
        const challenge = answer.header('www-authenticate') ?? ''
        if (!challenge.startsWith('Bearer')) problems.push(`WWW-Authenticate starts with Bearer; got ${JSON.stringify(challenge)}`)
        if (auth.none && challenge !== 'Bearer') problems.push(`no credentials: WWW-Authenticate is exactly Bearer; got ${JSON.stringify(challenge)}`)
      }
    }
    verdicts.add(problems, described)
  }

  /** The rows of the tasks table (tombstones too) and the target tasks as their owner reads them. */
  const stored = async (): Promise<{ items: number; targets: string[] }> => {
    const tables = localTables()
    try {
      const TableName = await tables.name('tasks')
      let items = 0
      let ExclusiveStartKey: Record<string, AttributeValue> | undefined
      do {
        const page = await tables.raw.send(new ScanCommand({ TableName, Select: 'COUNT', ExclusiveStartKey }))
        items += page.Count ?? 0
        ExclusiveStartKey = page.LastEvaluatedKey
      } while (ExclusiveStartKey)
      const states = await Promise.all(targets.map((id) => api('GET', `/tasks/${id}`).then((res) => `${res.status} ${res.text}`)))
      return { items, targets: states }
    } finally {
      tables.close()
    }
  }

  const before = await stored()
  await holds(
    t,
    'Authorization x methods x routes',
    30,
    fc.asyncProperty(fc.array(fc.tuple(authorization, authRoute), { minLength: IN_FLIGHT, maxLength: IN_FLIGHT }), async (cases) => {
      const prepared = cases.map(([auth, r]) => prepare(auth, r))
      const answers = await sendAll(prepared)
      const verdicts = new Verdicts()
      prepared.forEach((request, index) => judge(request, answers[index] as Answer | Error, verdicts))
      verdicts.settle()
    }),
  )

  // Random draws may miss one of the forged tokens: each is also sent once, to a write or a read in turn.
  const routes: AuthRoute[] = (['POST /tasks', 'PUT /tasks/@id', 'DELETE /tasks/@id', 'GET /tasks', 'GET /tasks/@id/notifications'] as const).map((line, index) => {
    const [method, path] = line.split(' ') as [Method, string]
    return { method, path, query: '', target: index % targets.length, body: 'valid' }
  })
  const sweep = forged.map(({ what }, index) => prepare(authCase(`forged: ${what}`, [`Bearer @forged${index}`]), routes[index % routes.length] as AuthRoute))
  const verdicts = new Verdicts()
  for (let at = 0; at < sweep.length; at += IN_FLIGHT) {
    const batch = sweep.slice(at, at + IN_FLIGHT)
    const answers = await sendAll(batch)
    batch.forEach((request, index) => judge(request, answers[index] as Answer | Error, verdicts))
  }
  let sweepFailures = ''
  try {
    verdicts.settle()
  } catch (error) {
    sweepFailures = (error as Error).message
  }
  t.equal(sweepFailures, '', `each of the ${forged.length} forged tokens (alg none, HS256 keyed with the public key, payload or signature changed, a claim wrong, an unknown key...) is a 401`)

  const after = await stored()
  t.equal(after.items, before.items, `the tasks table holds as many rows as before (${before.items}): nothing created or deleted`)
  t.deepEqual(after.targets, before.targets, 'the target tasks are as they were: nothing replaced')
  t.comment(`kinds of Authorization sent: ${[...seen].map(([what, n]) => `${what} x${n}`).join('; ')}`)
})

test('4. afterwards the store holds exactly the tasks created, each valid and as last written', async (t) => {
  const listed: unknown[] = []
  let path: string | undefined = '/tasks?limit=7'
  let pages = 0
  while (path && pages < 100) {
    const res: ApiResponse<unknown> = await api('GET', path)
    count(res.status)
    pages++
    const answer = fromFetch(res)
    t.deepEqual(answerProblems(answer, 'GET'), [], `page ${pages}: a JSON 200`)
    t.equal(res.status, 200, `page ${pages}: 200`)
    if (!Array.isArray(res.body)) break
    listed.push(...res.body)
    const link = res.headers.get('link')
    const next = link === null ? undefined : /^<(\/tasks\?[^>]+)>; rel="next"$/.exec(link)?.[1]
    if (link !== null) t.ok(next, `page ${pages}: Link ${preview(link, 80)} is a relative <...>; rel="next"`)
    path = next
  }
  t.comment(`listed ${listed.length} tasks in ${pages} pages; ${createdCount} 201s seen, ${deletes} deletes`)
  const invalid = listed.flatMap((task) => taskProblems(task).map((problem) => `${(task as Task).id}: ${problem}`))
  t.deepEqual(invalid, [], 'every stored task satisfies the spec')
  t.equal(listed.length, createdCount - deletes, 'as many tasks as 201s the test saw (nothing invalid stored, nothing accepted lost)')
  const ids = listed.map((task) => (task as Task).id)
  t.equal(new Set(ids).size, ids.length, 'no task listed twice')
  t.deepEqual([...ids].sort(), [...created.keys()].sort(), 'the listed ids are exactly the ids the 201s gave')
  const canonical = (task: unknown): string => JSON.stringify(Object.entries(task ?? {}).sort(([a], [b]) => (a < b ? -1 : 1)))
  const stale = listed.filter((task) => canonical(task) !== canonical(newest.get((task as Task).id)))
  t.deepEqual(
    stale.map((task) => ({ stored: task, lastAnswered: newest.get((task as Task).id) })),
    [],
    'each stored task is the newest version an answer gave (no accepted write lost)',
  )
  t.comment(`total: ${requests} requests; statuses ${histogram(statuses)}`)
})

test('stop the app', async (t) => {
  await app.stop()
  const answer = await fetch(`${app.baseUrl}/tasks`).then(
    () => 'answered',
    () => 'refused',
  )
  t.equal(answer, 'refused', 'the sandbox no longer answers')
})
