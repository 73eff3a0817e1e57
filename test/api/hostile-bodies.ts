import fc from 'fast-check'
import test from 'tape'
import type { SandboxApp } from '../../scripts/lib/harness/index.ts'
import { apiApp } from './app.ts'
import { anyJsonBody, contentType, JSON_TYPES, oddHeader, OTHER_TYPES, rawBody } from '../helpers/hostile/arbitraries.ts'
import { ifMatchOutcomes, jsonBodyOutcome, preview, rawBodyOutcomes, type Answer } from '../helpers/hostile/oracle.ts'
import { describeBody, HostileSession, IN_FLIGHT, SEED, together, Verdicts, type Endpoint } from '../helpers/hostile/session.ts'

/**
 * Hostile bodies, property-based (fast-check): random and adversarial JSON
 * bodies, raw bodies (bytes, invalid UTF-8, base64, UTF-16, a BOM), content
 * types and odd headers, to POST /tasks and PUT /tasks/{id}. Whatever comes
 * in, the answer is a valid task or the exact JSON 4xx the contract gives
 * (the oracle, test/helpers/hostile/oracle.ts, written from the spec's rules;
 * where the spec leaves a choice, every reasonable answer is listed), never a
 * 5xx; at the end the store holds exactly the tasks the answers created, each
 * as last written.
 *
 * Each property runs many times against the app's API with its Lambdas kept
 * warm (sandbox's own HTTP pipeline, a warm environment per route instead of
 * a process per request: scripts/lib/harness/warm-api.ts), and once through
 * the sandbox itself, whose process per request costs about 0.4 s of CPU
 * (test/api/http-contract.ts compares the two answer by answer). Each run
 * sends three requests at once.
 *
 * Replay: every property runs with the seed printed at the top
 * (`HOSTILE_SEED=<n>` picks another; the sandbox runs take the next one); a
 * failure prints fast-check's report with the shrunk counterexample.
 */
const RUNS = { post: { warm: 100, sandbox: 1 }, put: { warm: 60, sandbox: 1 }, raw: { warm: 100, sandbox: 1 } }

let app: SandboxApp
let session: HostileSession

test(`start the app and three target tasks (fast-check seed ${SEED}; HOSTILE_SEED=<n> to change it)`, async (t) => {
  app = await apiApp()
  session = await HostileSession.on(app, 'hostile-bodies')
  await session.createTargets(t, (body) => jsonBodyOutcome(body, Buffer.byteLength(body), 'create'))
})

const posts = (endpoint: Endpoint) =>
  fc.asyncProperty(fc.array(anyJsonBody, { minLength: IN_FLIGHT, maxLength: IN_FLIGHT }), async (bodies) => {
    const answers = await together(bodies.map((body) => () => session.send(endpoint, 'POST', '/tasks', Buffer.from(body), { 'content-type': 'application/json' })))
    const verdicts = new Verdicts()
    bodies.forEach((body, index) => {
      verdicts.add(session.judgeWrite(answers[index] as Answer, 'POST', [jsonBodyOutcome(body, Buffer.byteLength(body), 'create')], undefined), `POST /tasks ${describeBody(Buffer.from(body))}`)
    })
    verdicts.settle()
  })

test('1a. random JSON bodies to POST /tasks: a valid task or the exact 4xx the contract gives', async (t) => {
  await session.holds(t, 'POST /tasks with random JSON', RUNS.post.warm, session.warm, posts)
  await session.holds(t, 'POST /tasks with random JSON', RUNS.post.sandbox, session.sandbox, posts)
})

const puts = (endpoint: Endpoint) =>
  fc.asyncProperty(fc.array(fc.tuple(fc.nat({ max: 2 }), anyJsonBody), { minLength: IN_FLIGHT, maxLength: IN_FLIGHT }), async (cases) => {
    const answers = await together(cases.map(([target, body]) => () => session.send(endpoint, 'PUT', `/tasks/${session.targets[target]}`, Buffer.from(body), { 'content-type': 'application/json' })))
    const verdicts = new Verdicts()
    cases.forEach(([target, body], index) => {
      const id = session.targets[target] as string
      verdicts.add(session.judgeWrite(answers[index] as Answer, 'PUT', [jsonBodyOutcome(body, Buffer.byteLength(body), 'replace')], id), `PUT /tasks/${id} ${describeBody(Buffer.from(body))}`)
    })
    verdicts.settle()
  })

test('1b. random JSON bodies to PUT /tasks/{existing id}: the replaced task or the exact 4xx', async (t) => {
  await session.holds(t, 'PUT /tasks/{id} with random JSON', RUNS.put.warm, session.warm, puts)
  await session.holds(t, 'PUT /tasks/{id} with random JSON', RUNS.put.sandbox, session.sandbox, puts)
})

const rawCase = fc.record({
  put: fc.boolean(),
  target: fc.nat({ max: 2 }),
  types: fc.oneof({ weight: 5, arbitrary: contentType.map((type) => (type === null ? [] : [type])) }, { weight: 1, arbitrary: fc.tuple(fc.constantFrom(...JSON_TYPES), fc.constantFrom(...OTHER_TYPES)).chain((pair) => fc.shuffledSubarray(pair, { minLength: 2 })) }),
  body: rawBody,
  headers: fc.array(oddHeader, { maxLength: 3 }),
})

const rawWrites = (endpoint: Endpoint) =>
  fc.asyncProperty(fc.array(rawCase, { minLength: IN_FLIGHT, maxLength: IN_FLIGHT }), async (cases) => {
    const requests = cases.map(({ put, target, types, body, headers }) => ({
      method: put ? 'PUT' : 'POST',
      target: put ? `/tasks/${session.targets[target]}` : '/tasks',
      headers: [...types.map((type): [string, string] => ['Content-Type', type]), ...headers.filter(([name]) => put || name !== 'If-Match')],
      ...(body.bytes !== undefined && { body: body.bytes }),
    }))
    const answers = await together(requests.map((request) => () => session.sendRaw(endpoint, request)))
    const verdicts = new Verdicts()
    cases.forEach(({ put, target, types, body }, index) => {
      const request = requests[index] as (typeof requests)[number]
      const ifMatches = request.headers.filter(([name]) => name === 'If-Match').map(([, value]) => value)
      let outcomes = rawBodyOutcomes(types, body.kind, body.bytes, put ? 'replace' : 'create')
      if (put) {
        const ifMatch = ifMatches.length ? ifMatches.join(', ') : null
        outcomes = outcomes.flatMap((outcome) => (outcome.status === 200 ? ifMatchOutcomes(ifMatch, [outcome]) : [outcome]))
      }
      const described = `${request.method} ${request.target} [${request.headers.map(([n, v]) => `${n}: ${preview(v, 60)}`).join(' | ')}] ${body.kind} ${describeBody(body.bytes)}`
      verdicts.add(session.judgeWrite(answers[index] as Answer, request.method, outcomes, put ? session.targets[target] : undefined), described)
    })
    verdicts.settle()
  })

test('2. odd raw bodies, content types and headers: success or a JSON 4xx, as the contract decides', async (t) => {
  await session.holds(t, 'raw bodies and headers', RUNS.raw.warm, session.warm, rawWrites)
  await session.holds(t, 'raw bodies and headers', RUNS.raw.sandbox, session.sandbox, rawWrites)
})

test('afterwards the store holds exactly the tasks created, each valid and as last written', async (t) => {
  await session.storeHoldsExactly(t)
})
