import { ScanCommand, type AttributeValue } from '@aws-sdk/client-dynamodb'
import fc from 'fast-check'
import test from 'tape'
import type { SandboxApp } from '../../scripts/lib/harness/index.ts'
import { apiApp } from './app.ts'
import { rawRequest, type RawRequest } from '../helpers/hostile-raw.ts'
import { apiClient } from '../helpers/http.ts'
import { authCase, authorization, authRoute, type AuthCase, type AuthRoute, type Method } from '../helpers/hostile/arbitraries.ts'
import { forgedTokens } from '../helpers/hostile/forged-tokens.ts'
import { answerProblems, jsonBodyOutcome, MAX_BODY, messageOf, preview, routedAs, routeOf, type Answer } from '../helpers/hostile/oracle.ts'
import { fromRaw, HostileSession, IN_FLIGHT, SEED, together, Verdicts, type Endpoint } from '../helpers/hostile/session.ts'
import { localTables } from '../helpers/tables.ts'

/**
 * Hostile credentials, property-based (fast-check): every kind of wrong
 * Authorization (none, blank, other schemes, random strings, JWT-shaped
 * garbage, tokens forged every way: `alg: none`, HS256 keyed with the
 * issuer's public key, payload or signature changed, a claim wrong, unknown
 * keys; header injection, bytes the HTTP parser refuses, sizes around its
 * 16 KiB limit, two headers) on every route and method. A task route answers
 * 401 with `WWW-Authenticate: Bearer`, the catch-all (preflight, JSON 404)
 * answers as without a token, the HTTP server refuses what it must (a 400 or
 * 431 of its own, no Lambda run), never a 5xx, and nothing is stored.
 *
 * Many runs against the app's API with its Lambdas kept warm (a Node HTTP
 * server like the sandbox's, with sandbox's own pipeline:
 * scripts/lib/harness/warm-api.ts), a few through the sandbox itself; each
 * forged token is also sent once to a write or a read in turn.
 */
const RUNS = { warm: 100, sandbox: 2 }

let app: SandboxApp
let session: HostileSession
let forged: Array<{ what: string; token: string }> = []
const seen = new Map<string, number>()

test(`start the app and three target tasks (fast-check seed ${SEED}; HOSTILE_SEED=<n> to change it)`, async (t) => {
  app = await apiApp()
  session = await HostileSession.on(app, 'hostile-auth')
  await session.createTargets(t, (body) => jsonBodyOutcome(body, Buffer.byteLength(body), 'create'))
  forged = await forgedTokens(app, session.token, await app.mint({ sub: 'someone-else' }))
})

const fill = (line: string): string => line.replace(/@forged(\d+)/g, (_, n: string) => (forged[Number(n) % forged.length] as { token: string }).token)

function prepare(auth: AuthCase, r: AuthRoute) {
  const id = session.targets[r.target] as string
  const path = r.path.replace('@id', id).replace('@none', '00000000-0000-4000-8000-000000000000')
  const writes = r.method === 'POST' || r.method === 'PUT' || r.method === 'PATCH'
  const body = r.body === 'too large' ? Buffer.alloc(MAX_BODY + 10, 'x') : r.body === 'invalid JSON' ? Buffer.from('{"title":') : Buffer.from(JSON.stringify({ title: 'Sneaked in', isComplete: true }))
  const headers: Array<[string, string]> = auth.lines.map((line): [string, string] => ['Authorization', fill(line)])
  if (writes) headers.push(['Content-Type', r.body === 'text/plain' ? 'text/plain' : 'application/json'])
  const request: RawRequest = { method: r.method, target: `${path}${r.query}`, headers, ...(writes && { body }) }
  return { auth, method: r.method, route: routeOf(path), request }
}
type Prepared = ReturnType<typeof prepare>

/** Sent as written: each request carries its own Authorization, or deliberately none. A closed connection is an answer too. */
const sendAll = (endpoint: Endpoint, prepared: Prepared[]): Promise<Array<Answer | Error>> =>
  together(
    prepared.map(({ request }) => async (): Promise<Answer | Error> => {
      try {
        const res = await rawRequest(endpoint.port, request)
        session.count(res.status)
        return fromRaw(res)
      } catch (error) {
        return error as Error
      }
    }),
  )

function judge({ auth, method, route, request }: Prepared, answer: Answer | Error, verdicts: Verdicts): void {
  const described = `${method} ${request.target} [${auth.what}: ${auth.lines.map((line) => preview(JSON.stringify(fill(line)), 100)).join(' | ') || 'no header'}]`
  seen.set(auth.what, (seen.get(auth.what) ?? 0) + 1)
  const problems: string[] = []
  const got = answer instanceof Error ? answer.message : `${answer.status} ${preview(answer.text)}`
  // The HTTP server's own refusals carry none of the app's headers: no Lambda ran.
  const byServer = (statuses: number[]): boolean => !(answer instanceof Error) && statuses.includes(answer.status) && answer.header('access-control-allow-origin') === null
  const connectionClosed = answer instanceof Error && /ECONNRESET|EPIPE|no complete answer/.test(answer.message)
  // A server that refuses the head closes the connection: a client still writing the body may read a reset instead of the 400.
  const refusedMidBody = connectionClosed && request.body !== undefined
  if (auth.fate === 'server' && !(byServer([400]) || refusedMidBody)) problems.push(`expected the HTTP server's own 400, got ${got}`)
  if (auth.fate === 'too-large' && !(byServer([431]) || connectionClosed)) problems.push(`expected a 431 or a closed connection, got ${got}`)
  const reachedApp = !(answer instanceof Error) && !byServer([400, 431])
  if (auth.fate === 'app' && !reachedApp) problems.push(`expected the app's answer, got ${got}`)
  if (answer instanceof Error && !(auth.fate === 'too-large' || (auth.fate === 'size-edge' && connectionClosed) || (auth.fate !== 'app' && refusedMidBody))) problems.push(`no answer: ${answer.message}`)
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
async function stored(): Promise<{ items: number; targets: string[] }> {
  const tables = localTables(app.ports.ARC_TABLES_PORT)
  try {
    const TableName = await tables.name('tasks')
    let items = 0
    let ExclusiveStartKey: Record<string, AttributeValue> | undefined
    do {
      const page = await tables.raw.send(new ScanCommand({ TableName, Select: 'COUNT', ExclusiveStartKey }))
      items += page.Count ?? 0
      ExclusiveStartKey = page.LastEvaluatedKey
    } while (ExclusiveStartKey)
    const api = apiClient(session.warm.url, session.token)
    const states = await Promise.all(session.targets.map((id) => api('GET', `/tasks/${id}`).then((res) => `${res.status} ${res.text}`)))
    return { items, targets: states }
  } finally {
    tables.close()
  }
}

const requests = (endpoint: Endpoint) =>
  fc.asyncProperty(fc.array(fc.tuple(authorization, authRoute), { minLength: IN_FLIGHT, maxLength: IN_FLIGHT }), async (cases) => {
    const prepared = cases.map(([auth, r]) => prepare(auth, r))
    const answers = await sendAll(endpoint, prepared)
    const verdicts = new Verdicts()
    prepared.forEach((request, index) => judge(request, answers[index] as Answer | Error, verdicts))
    verdicts.settle()
  })

/** Each forged token once, to a write or a read in turn; the failures, if any. */
async function sweep(endpoint: Endpoint, tokens: Array<{ what: string; token: string }>): Promise<string> {
  const routes: AuthRoute[] = (['POST /tasks', 'PUT /tasks/@id', 'DELETE /tasks/@id', 'GET /tasks', 'GET /tasks/@id/notifications'] as const).map((line, index) => {
    const [method, path] = line.split(' ') as [Method, string]
    return { method, path, query: '', target: index % session.targets.length, body: 'valid' }
  })
  const prepared = tokens.map(({ what }, index) => prepare(authCase(`forged: ${what}`, [`Bearer @forged${forged.findIndex((each) => each.what === what)}`]), routes[index % routes.length] as AuthRoute))
  const verdicts = new Verdicts()
  for (let at = 0; at < prepared.length; at += IN_FLIGHT) {
    const batch = prepared.slice(at, at + IN_FLIGHT)
    const answers = await sendAll(endpoint, batch)
    batch.forEach((request, index) => judge(request, answers[index] as Answer | Error, verdicts))
  }
  try {
    verdicts.settle()
    return ''
  } catch (error) {
    return (error as Error).message
  }
}

test('3b. random and adversarial Authorization headers: 401 on every task route, the catch-all unchanged, never a 5xx, nothing stored', async (t) => {
  const before = await stored()
  await session.holds(t, 'Authorization x methods x routes', RUNS.warm, session.warm, requests)
  await session.holds(t, 'Authorization x methods x routes', RUNS.sandbox, session.sandbox, requests)

  // Random draws may miss one of the forged tokens: each is also sent once, warm, and every fifth through the sandbox too.
  t.equal(await sweep(session.warm, forged), '', `each of the ${forged.length} forged tokens (alg none, HS256 keyed with the public key, payload or signature changed, a claim wrong, an unknown key...) is a 401`)
  const some = forged.filter((_, index) => index % 5 === 0)
  t.equal(await sweep(session.sandbox, some), '', `through the sandbox too (${some.length} of them)`)

  const after = await stored()
  t.equal(after.items, before.items, `the tasks table holds as many rows as before (${before.items}): nothing created or deleted`)
  t.deepEqual(after.targets, before.targets, 'the target tasks are as they were: nothing replaced')
  t.comment(`kinds of Authorization sent: ${[...seen].map(([what, n]) => `${what} x${n}`).join('; ')}`)
})

test('afterwards the store holds exactly the three target tasks, as created', async (t) => {
  await session.storeHoldsExactly(t)
})
