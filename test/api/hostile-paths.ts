import fc from 'fast-check'
import test from 'tape'
import type { SandboxApp } from '../../scripts/lib/harness/index.ts'
import { apiApp } from './app.ts'
import type { RawRequest } from '../helpers/hostile-raw.ts'
import { pathCase, type Method } from '../helpers/hostile/arbitraries.ts'
import { answerProblems, jsonBodyOutcome, LIMIT_MESSAGE, messageOf, preview, routedAs, routeOf, taskProblems, type Answer, type Outcome } from '../helpers/hostile/oracle.ts'
import { describeBody, HostileSession, IN_FLIGHT, SEED, together, Verdicts, type Endpoint } from '../helpers/hostile/session.ts'

/**
 * Hostile methods, paths and queries, property-based (fast-check): any method
 * on paths of odd segments (encoded and not, `..`, lone `%`, very long ids,
 * another case), trailing slashes, and odd `limit` and `cursor` values. Never
 * a 5xx; an unknown route is the JSON 404; a task route answers as the
 * contract says (the oracle, test/helpers/hostile/oracle.ts); a HEAD has no
 * body; at the end the store holds exactly the tasks created, each as last
 * written.
 *
 * Many runs against the app's API with its Lambdas kept warm, which routes
 * with sandbox's own router (scripts/lib/harness/warm-api.ts), and a few
 * through the sandbox itself. `HOSTILE_SEED=<n>` replays another seed.
 */
const RUNS = { warm: 100, sandbox: 2 }

let app: SandboxApp
let session: HostileSession
/** Paths with a malformed `%` escape, refused by the router before any Lambda runs, by endpoint. */
const routerRejections = { warm: 0, sandbox: 0 }

test(`start the app and three target tasks (fast-check seed ${SEED}; HOSTILE_SEED=<n> to change it)`, async (t) => {
  app = await apiApp()
  session = await HostileSession.on(app, 'hostile-paths')
  await session.createTargets(t, (body) => jsonBodyOutcome(body, Buffer.byteLength(body), 'create'))
})

const requests = (endpoint: Endpoint) =>
  fc.asyncProperty(fc.array(fc.tuple(pathCase, fc.nat({ max: 2 })), { minLength: IN_FLIGHT, maxLength: IN_FLIGHT }), async (cases) => {
    const prepared = cases.map(([c, which]) => {
      const id = session.targets[which] as string
      const segments = c.segments.map((raw) => (raw === '@id' ? id : raw === '@ID' ? id.toUpperCase() : raw))
      const path = `/${segments.join('/')}${c.trailingSlash ? '/' : ''}`
      const route = routeOf(path)
      // A DELETE that would hit a live task is made a GET: the count of tasks at the end must stay the count of 201s.
      const method: Method = c.method === 'DELETE' && route !== 'undecodable' && route.kind === 'task' && session.targets.includes(route.id) ? 'GET' : c.method
      const cursor = session.targets[(which + 1) % session.targets.length] as string
      const target = `${path}${c.query.replace('@cursor', Buffer.from(JSON.stringify({ after: cursor })).toString('base64url'))}`
      const withBody = (method === 'POST' || method === 'PUT' || method === 'PATCH') && c.body !== null
      const request: RawRequest = { method, target, ...(withBody && { body: Buffer.from(c.body as string), headers: [['Content-Type', c.contentType]] }) }
      return { c, method, route, request }
    })
    const answers = await together(prepared.map(({ request }) => () => session.sendRaw(endpoint, request)))
    const verdicts = new Verdicts()
    prepared.forEach(({ c, method, route, request }, index) => {
      const answer = answers[index] as Answer
      const described = `${method} ${preview(request.target, 200)} ${describeBody(request.body)}`
      if (route === 'undecodable') {
        // A malformed `%` escape: the sandbox's router refuses the path (a 400 HTML page) before any Lambda runs.
        routerRejections[endpoint.label]++
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
      const exists = route.kind !== 'other' && route.kind !== 'list' && session.targets.includes(route.id)
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
          problems.push(...session.outcomeCheck(answer, [bodyOutcome('create')], undefined))
          break
        case 'read':
          if (exists) expect(answer.status === 200, 'GET of a live task is a 200')
          else expect(answer.status === 404 && (method === 'HEAD' || message === 'Task not found'), 'GET of any other id is a 404 Task not found')
          if (answer.status === 200 && method !== 'HEAD') problems.push(...taskProblems(JSON.parse(answer.text)))
          break
        case 'replace': {
          const outcome = bodyOutcome('replace')
          const expected: Outcome = outcome.status === 200 && !exists ? { status: 404, message: 'Task not found' } : outcome
          problems.push(...session.outcomeCheck(answer, [expected], route.kind === 'task' ? route.id : undefined))
          break
        }
        case 'delete':
          expect(answer.status === 404 && message === 'Task not found', 'DELETE of an id that is no task is a 404 Task not found')
          if (answer.status === 204) session.deletes++
          break
      }
      verdicts.add(problems, described)
    })
    verdicts.settle()
  })

test('3. odd methods, paths and queries: never a 5xx; JSON 404 for unknown routes; HEAD without a body', async (t) => {
  await session.holds(t, 'methods x paths', RUNS.warm, session.warm, requests)
  await session.holds(t, 'methods x paths', RUNS.sandbox, session.sandbox, requests)
  t.comment(`paths with a malformed % escape, refused by the router: ${routerRejections.warm} warm, ${routerRejections.sandbox} through the sandbox`)
})

test('afterwards the store holds exactly the tasks created, each valid and as last written', async (t) => {
  await session.storeHoldsExactly(t)
})
