import * as z from 'zod/mini'

/**
 * The spec's validation rules for a task body, stated once. Lengths count
 * Unicode code points, not UTF-16 units, so an emoji is one character.
 * (zod/mini: the same checks as zod, a fraction of the bundle a Lambda loads.)
 */
const codePoints = (value: string): number => [...value].length

/** `null` means the same as absent. */
const absentIfNull = <T>(value: T | null | undefined): T | undefined => value ?? undefined

const title = z.string({ error: (issue) => (issue.input === undefined || issue.input === null ? 'Title is required' : 'Title must be a string') }).check(
  z.refine((value) => value.trim().length > 0, { error: 'Title is required', abort: true }),
  z.refine((value) => codePoints(value) <= 100, { error: 'Title must not exceed 100 characters' }),
)

const detail = z.pipe(
  z.nullish(z.string({ error: 'Detail must be a string' }).check(z.refine((value) => codePoints(value) <= 1000, { error: 'Detail must not exceed 1000 characters' }))),
  z.transform(absentIfNull),
)

const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/
const dueDateMessage = 'Due date must be a valid ISO8601 timestamp'

/**
 * True when every field of the timestamp is in range (no 31 February, no hour
 * 24) and the instant has a UTC form of the same shape: `9999-12-31T23:00:00-02:00`
 * is year 10000 in UTC, which `toISOString()` writes `+010000-...`, no RFC 3339.
 */
function isRealTimestamp(value: string): boolean {
  if (!RFC3339.test(value)) return false
  const [date = '', time = ''] = value.split(/[Tt]/)
  const [year, month, day] = date.split('-').map(Number) as [number, number, number]
  const [hour, minute, second] = time.slice(0, 8).split(':').map(Number) as [number, number, number]
  const offset = /([+-])(\d{2}):(\d{2})$/.exec(time)
  if (offset && (Number(offset[2]) > 23 || Number(offset[3]) > 59)) return false
  const daysInMonth = new Date(Date.UTC(year, month, 0)).getUTCDate()
  const utcYear = new Date(value).getUTCFullYear()
  return month >= 1 && month <= 12 && day >= 1 && day <= daysInMonth && hour <= 23 && minute <= 59 && second <= 59 && utcYear >= 0 && utcYear <= 9999
}

const dueAt = z.pipe(
  z.nullish(
    z.pipe(
      z.string({ error: dueDateMessage }).check(z.refine(isRealTimestamp, { error: dueDateMessage })),
      z.transform((value) => new Date(value).toISOString()),
    ),
  ),
  z.transform(absentIfNull),
)

const isComplete = z.boolean({
  error: (issue) => (issue.input === undefined ? 'isComplete is required' : 'isComplete must be a boolean'),
})

const bodyObject = { error: 'Request body must be a JSON object' }

/** Body of POST /tasks. */
export const createTaskSchema = z.object({ title, detail, dueAt, isComplete: z._default(isComplete, false) }, bodyObject)

/** Body of PUT /tasks/:taskId: a full replacement, so isComplete is required. */
export const replaceTaskSchema = z.object({ title, detail, dueAt, isComplete }, bodyObject)

export type CreateTaskInput = z.output<typeof createTaskSchema>
export type ReplaceTaskInput = z.output<typeof replaceTaskSchema>

/** `title: Title is required, detail: ...`: every problem, in field order. */
export function describeIssues(error: z.core.$ZodError): string {
  return error.issues
    .map((issue) => (issue.path.length ? `${issue.path.join('.')}: ${issue.message}` : issue.message))
    .join(', ')
}
