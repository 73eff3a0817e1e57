import type { Task } from '../../../src/lib/tasks/task.ts'

/**
 * The oracle of the hostile-input properties: the contract (SPEC.md "HTTP
 * contract", docs/api.md "Choices where the spec is silent") written as
 * checks, from the spec's rules and not from the app's code. Given a request,
 * it says which answers are acceptable (one, where the contract gives one
 * answer; several, where the spec leaves a choice); given an answer, it says
 * what is wrong with it. Pure functions: test/unit/hostile-oracle.test.ts
 * checks the oracle itself on known answers.
 */
/** One answer, from fetch or from the raw socket client. */
export interface Answer {
  status: number
  header(name: string): string | null
  text: string
  /** Bytes after the header block as sent on the wire (raw client only). */
  wireBytes?: number
}

// ---------------------------------------------------------------- the spec, as checks

export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/
export const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/
export const MAX_BODY = 64 * 1024
export const TASK_KEYS = new Set(['id', 'title', 'detail', 'dueAt', 'isComplete', 'version', 'createdAt', 'updatedAt'])
export const codePoints = (value: string): number => [...value].length

/** A normalised UTC timestamp that is a real instant and round-trips. */
export const isUtcTimestamp = (value: unknown): boolean =>
  typeof value === 'string' && ISO_UTC.test(value) && !Number.isNaN(Date.parse(value)) && new Date(value).toISOString() === value

/** Everything wrong with a task as the API returned or listed it (SPEC.md "Task"). */
export function taskProblems(value: unknown): string[] {
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

export function preview(text: string | undefined, max = 160): string {
  if (text === undefined) return 'undefined'
  return text.length > max ? `${text.slice(0, max)}... (${text.length} chars)` : text
}

/** The CORS headers, JSON type and a parseable body every app answer but a 204 (or a HEAD) carries. */
export function answerProblems(answer: Answer, method: string): string[] {
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

export const messageOf = (answer: Answer): string | undefined => {
  try {
    return (JSON.parse(answer.text) as { message?: string }).message
  } catch {
    return undefined
  }
}


// ---------------------------------------------------------------- the body oracle

/** What a task body asks for, once valid. */
export interface Fields {
  title: string
  detail: string | undefined
  /** The instant dueAt names, in (possibly fractional) milliseconds. */
  dueAtMs: number | undefined
  isComplete: boolean
}

/** One acceptable answer: a status, and either the exact error message or the fields of the task. */
export type Outcome = { status: number; message: string } | { status: 200 | 201; fields: Fields }

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(?:[Zz]|([+-])(\d{2}):(\d{2}))$/

const isLeap = (year: number): boolean => (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0
const DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]

/**
 * The instant an RFC 3339 date-time names, or undefined when it is not one:
 * fields in range, and an instant that has a UTC form of the same shape
 * (years 0000..9999), since the API returns it normalised to UTC.
 */
export function rfc3339Instant(value: string): number | undefined {
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
 * The answer the contract gives a JSON body (SPEC.md "HTTP contract",
 * docs/api.md "Choices where the spec is silent"): 413 over 64 KiB; 400 `Request body is
 * required`, `Invalid JSON in request body`, or `Validation failed: ...` with
 * every problem in field order; else success with the fields as given.
 */
export function jsonBodyOutcome(text: string, bytes: number, op: 'create' | 'replace'): Outcome {
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
export function outcomeProblems(answer: Answer, outcome: Outcome): string | undefined {
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

/** How a raw body was made, where the spec leaves the answer open (a BOM, bytes that are no UTF-8, UTF-16). */
export type RawBodyKind = 'json' | 'bytes' | 'invalid-utf8' | 'base64' | 'empty' | 'white' | 'utf16' | 'bom' | 'none'

// ---------------------------------------------------------------- the media-type oracle

/** Media type as the spec reads it: JSON, clearly not JSON, or a garbage value either way is fair for. */
export function mediaKind(header: string | null): 'json' | 'other' | 'either' {
  if (header === null) return 'other'
  const type = header.split(';')[0]?.trim().toLowerCase() ?? ''
  if (type === 'application/json' || /^[a-z0-9.-]+\/[a-z0-9.-]+\+json$/.test(type)) return 'json'
  if (!type.endsWith('json') || !type.includes('/')) return 'other'
  return 'either'
}

/** Acceptable outcomes of a raw body with these Content-Type values (several when the header repeats). */
export function rawBodyOutcomes(types: Array<string | null>, kind: RawBodyKind, bytes: Buffer | undefined, op: 'create' | 'replace'): Outcome[] {
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
export function ifMatchOutcomes(ifMatch: string | null, success: Outcome[]): Outcome[] {
  if (ifMatch === null || ifMatch.trim() === '*') return success
  const stale: Outcome = { status: 412, message: 'Task has changed since the given ETag (If-Match)' }
  // An empty If-Match is no valid condition: ignoring it and failing it are both fair.
  if (ifMatch.trim() === '') return [...success, stale]
  const tags = ifMatch.split(',').map((tag) => tag.trim())
  return tags.some((tag) => /^"\d+"$/.test(tag)) ? [...success, stale] : [stale]
}


// ---------------------------------------------------------------- routes

/** Which route the sandbox gives a path: its router matches literals case-insensitively and allows one trailing slash. */
export type Route = { kind: 'list' } | { kind: 'task'; id: string } | { kind: 'notifications'; id: string } | { kind: 'other' }

export function routeOf(path: string): Route | 'undecodable' {
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
export type Routed = 'preflight' | 'list' | 'create' | 'read' | 'replace' | 'delete' | 'notifications' | 'unknown'

export function routedAs(method: string, route: Route): Routed {
  if (method === 'OPTIONS') return 'preflight'
  const reads = method === 'GET' || method === 'HEAD'
  if (route.kind === 'list') return reads ? 'list' : method === 'POST' ? 'create' : 'unknown'
  if (route.kind === 'task') return reads ? 'read' : method === 'PUT' ? 'replace' : method === 'DELETE' ? 'delete' : 'unknown'
  if (route.kind === 'notifications') return reads ? 'notifications' : 'unknown'
  return 'unknown'
}

export const LIMIT_MESSAGE = 'limit must be a whole number from 1 to 100'

