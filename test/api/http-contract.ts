import { randomUUID } from 'node:crypto'
import { BatchWriteCommand } from '@aws-sdk/lib-dynamodb'
import test from 'tape'
import type { StoredDelivery } from '../../src/lib/adapters/delivery-item.ts'
import type { Task } from '../../src/lib/tasks/task.ts'
import { apiClient, type ApiResponse } from '../helpers/http.ts'
import { localTables } from '../helpers/tables.ts'
import { paced, type SandboxApp, TEST_CALLER } from '../../scripts/lib/harness/index.ts'
import { apiApp } from './app.ts'

/**
 * The HTTP contract (SPEC.md "HTTP contract") against the real app: routes,
 * status codes, headers, error bodies, validation, size and media-type
 * limits, conditional requests, pagination.
 *
 * Every Lambda invocation in the sandbox costs a process start, so the
 * requests go to the app's API with its Lambdas kept warm (the harness's
 * baseUrl, scripts/lib/harness/warm-api.ts: sandbox's own router, body
 * encoding and formatting, the same handlers, tables and issuer, a warm
 * environment per route); the first request and one test that sends the
 * same requests (odd ids, bodies the sandbox encodes, a preflight, the
 * catch-all, missing and bad tokens) both ways and finds the same answers go
 * through sandbox's own server. Independent requests go out a few at a time.
 */

type Assert = test.Test
type Api = ReturnType<typeof apiClient>
type Response = ApiResponse<any>

let app: SandboxApp
/** The API with its Lambdas kept warm. */
let api: Api
/** The same API through sandbox's own server, a process per request. */
let sandbox: Api

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/
const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/
const EMOJI = '\u{1F600}'
const LONG_ID = 'x'.repeat(3000) // longer than any DynamoDB key can be

// Tasks created along the way and alive at the end, by id; and one deleted.
const live = new Map<string, Task>()
let deletedId = ''

/** Independent requests, at most three in flight; answers in request order. */
async function together<const Requests extends ReadonlyArray<() => Promise<Response>>>(requests: Requests): Promise<{ -readonly [K in keyof Requests]: Response }> {
  const answers = await paced(requests.length, 3, (index) => (requests[index] as () => Promise<Response>)())
  return answers as { -readonly [K in keyof Requests]: Response }
}

const byId = (a: Task, b: Task): number => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)

/** The CORS headers every response carries. */
function expectCors(t: Assert, res: Response, what: string): void {
  t.equal(res.headers.get('access-control-allow-origin'), '*', `${what}: Access-Control-Allow-Origin *`)
  t.equal(res.headers.get('access-control-expose-headers'), 'ETag, Location, Link, WWW-Authenticate', `${what}: Access-Control-Expose-Headers`)
}

function expectJson(t: Assert, res: Response, status: number, what: string): void {
  t.equal(res.status, status, `${what}: status ${status}`)
  t.equal(res.headers.get('content-type'), 'application/json', `${what}: Content-Type application/json`)
  expectCors(t, res, what)
}

/** An error the app produced: the status and a body of exactly `{"message": ...}`. */
function expectError(t: Assert, res: Response, status: number, message: string, what: string): void {
  expectJson(t, res, status, what)
  t.equal(res.text, JSON.stringify({ message }), `${what}: body is exactly {"message":${JSON.stringify(message)}}`)
}

function expectNoContent(t: Assert, res: Response, what: string): void {
  t.equal(res.status, 204, `${what}: status 204`)
  t.equal(res.text, '', `${what}: empty body`)
  // The app sends no Content-Type on a 204, but the sandbox's HTTP server adds
  // its own `text/plain; charset=utf-8` to a response without one, so all that
  // can be checked here is that the 204 is not labelled JSON.
  t.equal((res.headers.get('content-type') ?? '').includes('json'), false, `${what}: not labelled application/json`)
  expectCors(t, res, what)
}

/** A task as the API returns it: only the task fields, server-owned ones well formed. */
function expectTaskShape(t: Assert, task: Task, what: string): void {
  const keys = ['createdAt', 'id', 'isComplete', 'title', 'updatedAt', 'version']
  if (task.detail !== undefined) keys.push('detail')
  if (task.dueAt !== undefined) keys.push('dueAt')
  t.deepEqual(Object.keys(task).sort(), keys.sort(), `${what}: exactly the task fields`)
  t.match(task.id, UUID, `${what}: id is a UUID`)
  t.match(task.createdAt, ISO_UTC, `${what}: createdAt is an ISO timestamp in UTC`)
  t.match(task.updatedAt, ISO_UTC, `${what}: updatedAt is an ISO timestamp in UTC`)
}

/** The whole list in the store's order, in one page. */
async function listAll(t: Assert, what: string): Promise<Task[]> {
  const res = await api<Task[]>('GET', '/tasks?limit=100')
  expectJson(t, res, 200, what)
  t.equal(res.headers.get('link'), null, `${what}: no Link when everything fits`)
  return res.body
}

test('start the app; an empty store lists []', async (t) => {
  app = await apiApp()
  api = apiClient(app.baseUrl, app.token)
  sandbox = apiClient(app.sandboxUrl, app.token)
  const res = await sandbox<Task[]>('GET', '/tasks')
  expectJson(t, res, 200, 'GET /tasks')
  t.equal(res.text, '[]', 'an empty JSON array')
  t.equal(res.headers.get('link'), null, 'no Link header')
})

test('create, read, replace with If-Match, delete: one task through its life', async (t) => {
  const started = Date.now()
  const created = await api<Task>('POST', '/tasks', {
    body: {
      title: '  Buy milk \u{1F95B} ',
      detail: 'Two litres',
      dueAt: '2026-01-01T01:30:00.5+02:00',
      id: 'chosen-by-client',
      version: 42,
      createdAt: '2000-01-01T00:00:00.000Z',
      updatedAt: '2000-01-01T00:00:00.000Z',
      colour: 'red',
    },
  })
  expectJson(t, created, 201, 'POST /tasks')
  const task = created.body
  expectTaskShape(t, task, 'created task')
  t.notEqual(task.id, 'chosen-by-client', 'the server assigns the id, not the body')
  t.equal(task.title, '  Buy milk \u{1F95B} ', 'title stored as given')
  t.equal(task.detail, 'Two litres', 'detail')
  t.equal(task.dueAt, '2025-12-31T23:30:00.500Z', 'dueAt with an offset is returned in UTC')
  t.equal(task.isComplete, false, 'isComplete defaults to false')
  t.equal(task.version, 1, 'version 1 on create, whatever the body says')
  t.equal(task.createdAt, task.updatedAt, 'createdAt = updatedAt on create')
  const createdAt = Date.parse(task.createdAt)
  t.equal(createdAt >= started - 5000 && createdAt <= Date.now() + 5000, true, 'createdAt is now, not the body value')
  t.equal(created.headers.get('location'), `/tasks/${task.id}`, 'Location: /tasks/{id}')
  t.equal(created.headers.get('etag'), '"1"', 'ETag "1"')

  const read = await api<Task>('GET', `/tasks/${task.id}`)
  expectJson(t, read, 200, 'GET /tasks/{id}')
  t.deepEqual(read.body, task, 'GET returns the task as created')
  t.equal(read.headers.get('etag'), '"1"', 'GET: ETag "1"')

  const replaced = await api<Task>('PUT', `/tasks/${task.id}`, {
    headers: { 'if-match': '"1"' },
    body: { title: 'Buy oat milk', isComplete: true, id: 'other', version: 9, createdAt: '2000-01-01T00:00:00.000Z' },
  })
  expectJson(t, replaced, 200, 'PUT with the current ETag')
  expectTaskShape(t, replaced.body, 'replaced task')
  t.deepEqual(
    { ...replaced.body, updatedAt: 'checked below' },
    { id: task.id, title: 'Buy oat milk', isComplete: true, version: 2, createdAt: task.createdAt, updatedAt: 'checked below' },
    'full replace: new title and isComplete, detail and dueAt removed, id and createdAt kept, version 2',
  )
  t.equal(replaced.body.updatedAt > task.updatedAt, true, 'updatedAt moves forward')
  t.equal(replaced.headers.get('etag'), '"2"', 'PUT: ETag "2"')
  t.equal(replaced.headers.get('location'), null, 'PUT: no Location')

  const stale = await api('PUT', `/tasks/${task.id}`, { headers: { 'if-match': '"1"' }, body: { title: 'Lost update', isComplete: false } })
  expectError(t, stale, 412, 'Task has changed since the given ETag (If-Match)', 'PUT with a stale If-Match')

  const fromList = await api<Task>('PUT', `/tasks/${task.id}`, {
    headers: { 'if-match': '"1", "2"' },
    body: { title: 'Buy oat milk', detail: 'Barista edition', isComplete: true },
  })
  expectJson(t, fromList, 200, 'PUT with If-Match listing the current ETag')
  t.equal(fromList.body.version, 3, 'version 3: the stale PUT changed nothing')
  t.equal(fromList.body.detail, 'Barista edition', 'detail set again')
  t.equal(fromList.headers.get('etag'), '"3"', 'ETag "3"')

  const reread = await api<Task>('GET', `/tasks/${task.id}`)
  expectJson(t, reread, 200, 'GET after the replaces')
  t.deepEqual(reread.body, fromList.body, 'the stored task is the last replace')
  t.equal(reread.headers.get('etag'), '"3"', 'GET: ETag "3"')
  t.equal(reread.body.createdAt, task.createdAt, 'createdAt never changes')

  const staleDelete = await api('DELETE', `/tasks/${task.id}`, { headers: { 'if-match': '"2"' } })
  expectError(t, staleDelete, 412, 'Task has changed since the given ETag (If-Match)', 'DELETE with a stale If-Match')

  const deleted = await api('DELETE', `/tasks/${task.id}`, { headers: { 'if-match': '*' } })
  expectNoContent(t, deleted, 'DELETE with If-Match *')
  deletedId = task.id

  const gone = await api('GET', `/tasks/${task.id}`)
  expectError(t, gone, 404, 'Task not found', 'GET after DELETE')
  const deleteAgain = await api('DELETE', `/tasks/${task.id}`, { headers: { 'if-match': '"3"' } })
  expectError(t, deleteAgain, 404, 'Task not found', 'DELETE of a deleted task, even with its last ETag')
  const putDeleted = await api('PUT', `/tasks/${task.id}`, { headers: { 'if-match': '"3"' }, body: { title: 'Back?', isComplete: false } })
  expectError(t, putDeleted, 404, 'Task not found', 'PUT does not bring a deleted task back')
})

test('unknown and odd ids: 404 Task not found (before 412), notifications []', async (t) => {
  const valid = { title: 'x', isComplete: false }
  const [uuid, word, emoji, encodedSlash, long, put, putLong, del, delLong, notes, notesLong] = await together([
    () => api('GET', '/tasks/00000000-0000-4000-8000-000000000000'),
    () => api('GET', '/tasks/not-a-uuid'),
    () => api('GET', `/tasks/${encodeURIComponent(EMOJI)}`),
    () => api('GET', '/tasks/a%2Fb'),
    () => api('GET', `/tasks/${LONG_ID}`),
    () => api('PUT', '/tasks/not-a-uuid', { headers: { 'if-match': '"1"' }, body: valid }),
    () => api('PUT', `/tasks/${LONG_ID}`, { body: valid }),
    () => api('DELETE', '/tasks/not-a-uuid', { headers: { 'if-match': '"1"' } }),
    () => api('DELETE', `/tasks/${LONG_ID}`),
    () => api('GET', '/tasks/00000000-0000-4000-8000-000000000000/notifications'),
    () => api('GET', `/tasks/${LONG_ID}/notifications`),
  ])
  expectError(t, uuid, 404, 'Task not found', 'GET unknown UUID')
  expectError(t, word, 404, 'Task not found', 'GET malformed id (no 400)')
  expectError(t, emoji, 404, 'Task not found', 'GET emoji id')
  expectError(t, encodedSlash, 404, 'Task not found', 'GET id with an encoded slash')
  expectError(t, long, 404, 'Task not found', 'GET 3000-character id')
  expectError(t, put, 404, 'Task not found', 'PUT unknown id with If-Match: 404 before 412')
  expectError(t, putLong, 404, 'Task not found', 'PUT 3000-character id')
  expectError(t, del, 404, 'Task not found', 'DELETE unknown id with If-Match: 404 before 412')
  expectError(t, delLong, 404, 'Task not found', 'DELETE 3000-character id')
  expectJson(t, notes, 200, 'GET notifications of an unknown task')
  t.equal(notes.text, '[]', 'unknown task: notifications []')
  expectJson(t, notesLong, 200, 'GET notifications of a 3000-character id')
  t.equal(notesLong.text, '[]', '3000-character id: notifications []')
})

test('valid bodies: boundaries, JSON media types, null as absent, base64, 64 KiB', async (t) => {
  const atLimits = await api<Task>('POST', '/tasks', {
    rawBody: JSON.stringify({ title: EMOJI.repeat(100), detail: `${EMOJI}${'d'.repeat(999)}`, dueAt: '2025-12-31T23:59:59Z', isComplete: true }),
    headers: { 'content-type': 'application/json; charset=utf-8' },
  })
  expectJson(t, atLimits, 201, 'POST with charset=utf-8')
  expectTaskShape(t, atLimits.body, 'task at the limits')
  t.equal(atLimits.body.title, EMOJI.repeat(100), 'a title of 100 emoji (100 characters) is accepted')
  t.equal(atLimits.body.detail, `${EMOJI}${'d'.repeat(999)}`, 'a detail of 1000 characters is accepted')
  t.equal(atLimits.body.dueAt, '2025-12-31T23:59:59.000Z', 'dueAt normalised to milliseconds')
  t.equal(atLimits.body.isComplete, true, 'isComplete true on create')
  t.equal(atLimits.headers.get('etag'), '"1"', 'ETag "1"')
  t.equal(atLimits.headers.get('location'), `/tasks/${atLimits.body.id}`, 'Location')

  const nulls = await api<Task>('POST', '/tasks', {
    rawBody: '{"__proto__": {"isComplete": true, "detail": "from proto"}, "title": "Nulls", "detail": null, "dueAt": null}',
    headers: { 'content-type': 'application/vnd.queue-leveling.task+json' },
  })
  expectJson(t, nulls, 201, 'POST with a +json type')
  expectTaskShape(t, nulls.body, 'task with null detail and dueAt')
  t.equal('detail' in nulls.body, false, 'null detail is absent')
  t.equal('dueAt' in nulls.body, false, 'null dueAt is absent')
  t.equal(nulls.body.isComplete, false, 'nothing taken from __proto__')

  // The sandbox, like API Gateway, base64-encodes a body whose type it does not take for JSON text.
  const base64 = await api<Task>('POST', '/tasks', {
    rawBody: Buffer.from(JSON.stringify({ title: `Caf\u00e9 ${EMOJI}`, dueAt: '2025-06-30T12:00:00.123456-07:00' }), 'utf8'),
    headers: { 'content-type': 'Application/JSON; Charset=UTF-8' },
  })
  expectJson(t, base64, 201, 'POST with an upper-case JSON type (base64 event body)')
  t.equal(base64.body.title, `Caf\u00e9 ${EMOJI}`, 'UTF-8 title survives the base64 body')
  t.equal(base64.body.dueAt, '2025-06-30T19:00:00.123Z', 'fractional seconds and offset normalised')

  const head = '{"title":"Exactly 64 KiB","pad":"'
  const tail = '"}'
  const exact = head + 'p'.repeat(64 * 1024 - head.length - tail.length) + tail
  t.equal(Buffer.byteLength(exact), 65536, '(a body of exactly 65536 bytes)')
  const atSize = await api<Task>('POST', '/tasks', { rawBody: exact, headers: { 'content-type': 'application/json' } })
  expectJson(t, atSize, 201, 'POST of exactly 64 KiB')
  t.equal(atSize.body.title, 'Exactly 64 KiB', 'accepted, unknown field ignored')
  t.equal('pad' in atSize.body, false, 'the unknown field is not stored')

  for (const res of [atLimits, nulls, base64, atSize]) live.set(res.body.id, res.body)
})

test('pagination: limit=3 pages through every task exactly once, following Link', async (t) => {
  for (const title of ['Page me 1', 'Page me 2', 'Page me 3']) {
    const res = await api<Task>('POST', '/tasks', { body: { title } })
    t.equal(res.status, 201, `created "${title}"`)
    live.set(res.body.id, res.body)
  }
  t.equal(live.size, 7, '(7 tasks in the store)')

  const all = await listAll(t, 'GET /tasks?limit=100')
  t.deepEqual([...all].sort(byId), [...live.values()].sort(byId), 'the list holds exactly the stored tasks')

  const defaultLimit = await api<Task[]>('GET', '/tasks')
  expectJson(t, defaultLimit, 200, 'GET /tasks (default limit)')
  t.deepEqual(defaultLimit.body, all, 'the default limit returns all 7 in the same order')
  t.equal(defaultLimit.headers.get('link'), null, 'no Link when nothing remains')

  const seen: Task[] = []
  const sizes: number[] = []
  let path: string | undefined = '/tasks?limit=3'
  for (let page = 1; path && page <= 5; page++) {
    const res: ApiResponse<Task[]> = await api<Task[]>('GET', path)
    expectJson(t, res, 200, `page ${page}`)
    if (!Array.isArray(res.body)) break
    seen.push(...res.body)
    sizes.push(res.body.length)
    const link = res.headers.get('link')
    if (link === null) {
      path = undefined
    } else {
      const next = /^<([^>]+)>; rel="next"$/.exec(link)?.[1]
      t.equal(next?.startsWith('/tasks?'), true, `page ${page}: Link is a relative <...>; rel="next" (${link.slice(0, 40)}...)`)
      t.equal(new URLSearchParams(next?.split('?')[1]).get('limit'), '3', `page ${page}: the next page keeps limit=3`)
      path = next
    }
  }
  t.deepEqual(sizes, [3, 3, 1], 'pages of 3, 3 and 1; the last one has no Link')
  t.equal(new Set(seen.map((task) => task.id)).size, 7, 'no task twice')
  t.deepEqual(seen, all, 'every task exactly once, in the same stable order as one big page')
})

test('bad limit or cursor: 400', async (t) => {
  const limitMessage = 'limit must be a whole number from 1 to 100'
  const limits = ['0', '101', '1.5', 'abc', '-1', '']
  const cursors = ['garbage', Buffer.from('{"after":1}').toString('base64url'), Buffer.from(JSON.stringify({ after: LONG_ID })).toString('base64url')]
  const afterDeleted = Buffer.from(JSON.stringify({ after: deletedId })).toString('base64url')
  const answers = await together([
    ...limits.map((limit) => () => api('GET', `/tasks?limit=${limit}`)),
    ...cursors.map((cursor) => () => api('GET', `/tasks?cursor=${cursor}`)),
    // A well-formed cursor whose task was deleted since (the last task of a page went) still works.
    () => api('GET', `/tasks?limit=100&cursor=${afterDeleted}`),
  ])
  limits.forEach((limit, index) => expectError(t, answers[index] as Response, 400, limitMessage, `limit=${limit}`))
  cursors.forEach((cursor, index) => expectError(t, answers[limits.length + index] as Response, 400, 'Invalid cursor', `cursor=${cursor.slice(0, 20)}`))
  const afterGone = answers.at(-1) as ApiResponse<Task[]>
  expectJson(t, afterGone, 200, 'a cursor after a deleted task')
  t.equal(Array.isArray(afterGone.body) && afterGone.body.every((task) => live.has(task.id)), true, 'answers a page of live tasks')
})

/** Every page of a path, following Link; the Links themselves too. */
async function followLinks<Item>(first: string, pageLimit = 10): Promise<{ pages: Item[][]; links: string[] }> {
  const pages: Item[][] = []
  const links: string[] = []
  let path: string | undefined = first
  while (path && pages.length < pageLimit) {
    const res: ApiResponse<Item[]> = await api<Item[]>('GET', path)
    if (res.status !== 200) throw new Error(`GET ${path}: ${res.status} ${res.text}`)
    pages.push(res.body)
    const link = res.headers.get('link')
    if (link !== null) links.push(link)
    path = link === null ? undefined : /^<([^>]+)>; rel="next"$/.exec(link)?.[1]
  }
  return { pages, links }
}

test('GET /tasks/{id}/notifications pages like GET /tasks: 120 records in pages of 50, 50 and 20 by Link, oldest first; 400s alike; nothing for another caller', async (t) => {
  // Written straight into the sandbox's table, as the consumer stores them: far quicker than 120 deliveries.
  const tables = localTables(app.ports.ARC_TABLES_PORT)
  const taskId = randomUUID()
  const start = Date.parse('2026-01-01T00:00:00.000Z')
  const stored: StoredDelivery[] = Array.from({ length: 120 }, (_, index) => {
    const deliveredAt = new Date(start + index * 1000).toISOString()
    const notificationId = `task_updated:${taskId}:${index + 2}`
    return { taskId, ownerId: TEST_CALLER, notificationId, event: 'task_updated', channel: 'webhook', subject: `Task updated: v${index + 2}`, status: 'sent', messageId: `m-${index}`, receiveCount: 1, deliveredAt, sk: `${deliveredAt}#${notificationId}#webhook`, deliveryKey: `${notificationId}#webhook`, expiresAt: Math.floor(start / 1000) + 86_400 }
  })
  const table = await tables.name('deliveries')
  // Newest first: the table, not the order of writing, orders the log.
  const newestFirst = [...stored].reverse()
  for (let index = 0; index < newestFirst.length; index += 25) {
    await tables.documents.send(new BatchWriteCommand({ RequestItems: { [table]: newestFirst.slice(index, index + 25).map((Item) => ({ PutRequest: { Item } })) } }))
  }
  tables.close()
  const path = `/tasks/${taskId}/notifications`

  const { pages, links } = await followLinks<Record<string, unknown>>(`${path}?limit=50`)
  t.deepEqual(pages.map((page) => page.length), [50, 50, 20], 'pages of 50, 50 and 20; the last one has no Link')
  for (const link of links) {
    const next = /^<([^>]+)>; rel="next"$/.exec(link)?.[1] ?? ''
    t.ok(next.startsWith(`${path}?`), `Link is relative to the same log: ${link.slice(0, 60)}...`)
    t.equal(new URLSearchParams(next.split('?')[1]).get('limit'), '50', 'and keeps limit=50')
  }
  const views = stored.map(({ ownerId: _owner, sk: _sk, deliveryKey: _key, expiresAt: _expires, ...view }) => view)
  t.deepEqual(pages.flat(), views, 'every record exactly once, oldest first, as the contract shows it')

  const defaultPage = await api<unknown[]>('GET', path)
  expectJson(t, defaultPage, 200, 'GET notifications (default limit)')
  t.equal(defaultPage.body.length, 50, 'the default limit is 50')
  t.match(defaultPage.headers.get('link') ?? '', /^<[^>]+limit=50&cursor=[^>]+>; rel="next"$/, 'with a Link while more remain')
  const exact = await followLinks<unknown>(`${path}?limit=40`)
  t.deepEqual(exact.pages.map((page) => page.length), [40, 40, 40], 'pages that end exactly at the last record: no empty page after')

  const limitMessage = 'limit must be a whole number from 1 to 100'
  const limits = ['0', '101', '1.5', 'abc', '']
  const cursors = ['garbage', Buffer.from('{"after":1}').toString('base64url'), Buffer.from(JSON.stringify({ after: LONG_ID })).toString('base64url')]
  const answers = await together([...limits.map((limit) => () => api('GET', `${path}?limit=${limit}`)), ...cursors.map((cursor) => () => api('GET', `${path}?cursor=${cursor}`))])
  limits.forEach((limit, index) => expectError(t, answers[index] as Response, 400, limitMessage, `notifications limit=${limit}`))
  cursors.forEach((cursor, index) => expectError(t, answers[limits.length + index] as Response, 400, 'Invalid cursor', `notifications cursor=${cursor.slice(0, 20)}`))

  const stranger = apiClient(app.baseUrl, await app.mint({ sub: 'someone-else' }))
  const theirs = await stranger('GET', `${path}?limit=50`)
  t.deepEqual([theirs.status, theirs.text, theirs.headers.get('link')], [200, '[]', null], 'another caller: 200 [], no Link')
  const cursor = /cursor=([^&>]+)/.exec(links[0] ?? '')?.[1] ?? ''
  const withCursor = await stranger('GET', `${path}?limit=50&cursor=${cursor}`)
  t.deepEqual([withCursor.status, withCursor.text, withCursor.headers.get('link')], [200, '[]', null], "another caller with the owner's cursor: still 200 [], no Link")
})

test('rejected requests: 400 / 413 / 415 with the spec messages, precedence, nothing stored', async (t) => {
  const before = await listAll(t, 'list before')
  const target = [...live.values()][0] as Task
  const big = 'x'.repeat(70_000)
  const jsonType = { 'content-type': 'application/json' }
  const textType = { 'content-type': 'text/plain' }
  const cases: Array<[() => Promise<Response>, number, string, string]> = [
    [() => api('POST', '/tasks', { headers: jsonType }), 400, 'Request body is required', 'POST without a body'],
    [() => api('POST', '/tasks', { rawBody: '   ', headers: jsonType }), 400, 'Request body is required', 'POST with a white-space body'],
    [() => api('POST', '/tasks', { rawBody: '{"title":', headers: jsonType }), 400, 'Invalid JSON in request body', 'POST with malformed JSON'],
    [
      () => api('POST', '/tasks', { rawBody: '[{"title":"In an array"}]', headers: jsonType }),
      400,
      'Validation failed: Request body must be a JSON object',
      'POST with a JSON array',
    ],
    [
      () => api('POST', '/tasks', { rawBody: '"just a string"', headers: jsonType }),
      400,
      'Validation failed: Request body must be a JSON object',
      'POST with a JSON string',
    ],
    [
      () => api('POST', '/tasks', { body: { title: '   ', detail: 'd'.repeat(1001), dueAt: 'invalid-date', isComplete: 'true' } }),
      400,
      'Validation failed: title: Title is required, detail: Detail must not exceed 1000 characters, dueAt: Due date must be a valid ISO8601 timestamp, isComplete: isComplete must be a boolean',
      'POST with four problems lists every one',
    ],
    [
      () => api('POST', '/tasks', { body: { title: EMOJI.repeat(101), dueAt: '2025-12-31' } }),
      400,
      'Validation failed: title: Title must not exceed 100 characters, dueAt: Due date must be a valid ISO8601 timestamp',
      'POST with 101 emoji and a bare date',
    ],
    [
      () => api('POST', '/tasks', { body: { title: 'Complete?', isComplete: 'true' } }),
      400,
      'Validation failed: isComplete: isComplete must be a boolean',
      'POST with isComplete "true"',
    ],
    [() => api('POST', '/tasks', { rawBody: JSON.stringify({ title: 'Text' }), headers: textType }), 415, 'Content-Type must be application/json', 'POST text/plain'],
    [() => api('POST', '/tasks', { rawBody: JSON.stringify({ title: 'No type' }) }), 415, 'Content-Type must be application/json', 'POST with a body and no Content-Type'],
    [() => api('POST', '/tasks', { rawBody: big, headers: textType }), 415, 'Content-Type must be application/json', 'POST text/plain over 64 KiB: 415 before 413'],
    [() => api('POST', '/tasks', { rawBody: big, headers: jsonType }), 413, 'Request body must not exceed 65536 bytes', 'POST malformed JSON over 64 KiB: 413 before 400'],
    [
      () => api('POST', '/tasks', { rawBody: JSON.stringify({ title: 'Too big', pad: 'p'.repeat(65_536) }), headers: jsonType }),
      413,
      'Request body must not exceed 65536 bytes',
      'POST valid JSON over 64 KiB',
    ],
    [
      () => api('PUT', `/tasks/${target.id}`, { body: { title: 'No isComplete' } }),
      400,
      'Validation failed: isComplete: isComplete is required',
      'PUT without isComplete',
    ],
    [
      () => api('PUT', `/tasks/${target.id}`, { body: { title: 'Bad date', isComplete: true, dueAt: '2025-02-30T00:00:00Z' } }),
      400,
      'Validation failed: dueAt: Due date must be a valid ISO8601 timestamp',
      'PUT with 30 February',
    ],
    [
      () => api('PUT', `/tasks/${target.id}`, { rawBody: JSON.stringify({ title: 'Text', isComplete: true }), headers: textType }),
      415,
      'Content-Type must be application/json',
      'PUT text/plain',
    ],
    [() => api('PUT', `/tasks/${target.id}`, { rawBody: big, headers: jsonType }), 413, 'Request body must not exceed 65536 bytes', 'PUT over 64 KiB'],
  ]
  const answers = await together(cases.map(([send]) => send))
  cases.forEach(([, status, message, what], index) => expectError(t, answers[index] as Response, status, message, what))

  const after = await listAll(t, 'list after')
  t.deepEqual(after, before, 'nothing was created or changed by the rejected requests')
})

test('CORS preflight and unknown routes', async (t) => {
  const target = [...live.values()][0] as Task
  const preflight = { origin: 'https://app.example', 'access-control-request-method': 'PUT', 'access-control-request-headers': 'content-type, if-match' }
  const [tasksOptions, taskOptions, root, nope, patch, deleteAll, postToTask, deep] = await together([
    () => api('OPTIONS', '/tasks', { headers: preflight }),
    () => api('OPTIONS', `/tasks/${target.id}`, { headers: preflight }),
    () => api('GET', '/'),
    () => api('GET', '/nope'),
    () => api('PATCH', `/tasks/${target.id}`, { body: { title: 'Patched' } }),
    () => api('DELETE', '/tasks'),
    () => api('POST', `/tasks/${target.id}`, { body: { title: 'Posted' } }),
    () => api('GET', `/tasks/${target.id}/notifications/extra`),
  ])
  for (const [res, what] of [
    [tasksOptions, 'OPTIONS /tasks'],
    [taskOptions, 'OPTIONS /tasks/{id}'],
  ] as Array<[Response, string]>) {
    expectNoContent(t, res, what)
    t.equal(res.headers.get('access-control-allow-methods'), 'GET, POST, PUT, DELETE, OPTIONS', `${what}: Allow-Methods`)
    t.equal(res.headers.get('access-control-allow-headers'), 'Authorization, Content-Type, If-Match, Idempotency-Key', `${what}: Allow-Headers`)
    t.equal(res.headers.get('access-control-max-age'), '600', `${what}: Max-Age`)
  }
  expectError(t, root, 404, 'Not Found', 'GET /')
  expectError(t, nope, 404, 'Not Found', 'GET /nope')
  expectError(t, patch, 404, 'Not Found', 'PATCH /tasks/{id}')
  expectError(t, deleteAll, 404, 'Not Found', 'DELETE /tasks')
  expectError(t, postToTask, 404, 'Not Found', 'POST /tasks/{id}')
  expectError(t, deep, 404, 'Not Found', 'GET /tasks/{id}/notifications/extra')

  const unchanged = await api<Task>('GET', `/tasks/${target.id}`)
  expectJson(t, unchanged, 200, 'GET the task after PATCH and POST to it')
  t.deepEqual(unchanged.body, target, 'neither PATCH nor POST touched it')
})

test('the warm API answers as the sandbox does: the same requests, the same statuses, bodies and headers', async (t) => {
  const big = JSON.stringify({ title: 'x'.repeat(70_000) })
  const requests: Array<[string, string, Parameters<Api>[2]]> = [
    ['GET', '/tasks/00000000-0000-4000-8000-000000000000', {}],
    ['GET', `/tasks/${encodeURIComponent(EMOJI)}/notifications`, {}],
    ['GET', '/tasks?limit=0', {}],
    ['POST', '/tasks', { rawBody: '{"title":', headers: { 'content-type': 'application/json' } }],
    ['POST', '/tasks', { rawBody: Buffer.from(JSON.stringify({ title: 7 })), headers: { 'content-type': 'Application/JSON; Charset=UTF-8' } }],
    ['POST', '/tasks', { rawBody: 'hello', headers: { 'content-type': 'text/plain' } }],
    ['PUT', '/tasks/x', { rawBody: big, headers: { 'content-type': 'application/json' } }],
    ['OPTIONS', '/tasks', { headers: { origin: 'https://app.example', 'access-control-request-method': 'PUT' } }],
    ['PATCH', '/tasks/x', { body: { title: 'x' } }],
    ['GET', '/tasks', { token: null }],
    ['DELETE', '/tasks/x', { token: 'not-a-jwt' }],
  ]
  const shown = (res: Response) => {
    const headers = ['content-type', 'access-control-allow-origin', 'access-control-expose-headers', 'access-control-allow-methods', 'access-control-allow-headers', 'www-authenticate', 'etag', 'location', 'link']
    return { status: res.status, text: res.text, headers: Object.fromEntries(headers.map((name) => [name, res.headers.get(name)])) }
  }
  const [viaSandbox, viaWarm] = await Promise.all([sandbox, api].map((client) => paced(requests.length, 3, (index) => client(...(requests[index] as [string, string, Parameters<Api>[2]])))))
  requests.forEach(([method, path], index) => {
    t.deepEqual(shown((viaWarm as Response[])[index] as Response), shown((viaSandbox as Response[])[index] as Response), `${method} ${path.slice(0, 60)}: ${(viaSandbox as Response[])[index]?.status} both ways`)
  })
})
