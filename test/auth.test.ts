import { createHmac } from 'node:crypto'
import { generateKeyPair, SignJWT, type JWTPayload } from 'jose'
import test from 'tape'
import { apiClient, type ApiResponse } from './helpers/http.ts'
import { newTestKey, signedToken, startTestIssuer } from './helpers/test-issuer.ts'
import { type SandboxApp, startSandboxApp, stopAll } from '../scripts/lib/harness/index.ts'

/**
 * Who may call the API, against the running app trusting a test issuer of
 * its own (AUTH_ISSUER, found by OpenID discovery): every kind of bad token is
 * a 401 with the right WWW-Authenticate, a missing scope a 403, both decided
 * before the body is read; an issuer whose key set is cut off is a prompt 503;
 * and no token ever reaches a log line.
 *
 * The many requests of the token and scope matrices go to the app's API with
 * its Lambdas kept warm (scripts/lib/harness/warm-api.ts: the same handlers
 * and issuer, a warm environment per route); a few of them, the catch-all,
 * and the cut-off key set, which a cold Lambda meets on its first fetch, go
 * through the sandbox itself.
 */
const AUDIENCE = 'tasks-api-test'
const key = await newTestKey('auth-test')
const issuer = await startTestIssuer([key.publicJwk])
const ISSUER = issuer.url

const now = (): number => Math.floor(Date.now() / 1000)

/** A token of the test issuer with these claims over the defaults (sub alice, both scopes, valid for an hour). */
function token(claims: JWTPayload = {}): Promise<string> {
  return signedToken(key, { iss: ISSUER, aud: AUDIENCE, sub: 'alice', scope: 'tasks:read tasks:write', iat: now(), exp: now() + 3600, ...claims })
}

const base64url = (value: string | Buffer): string => Buffer.from(value).toString('base64url')

let app: SandboxApp
/** Through the sandbox, a process per request. */
let api: ReturnType<typeof apiClient>
/** The same API with its Lambdas kept warm. */
let warm: ReturnType<typeof apiClient>
const logged: string[] = []
const tokensSent: string[] = []

function send(method: string, path: string, bearer: string | null, options: { body?: unknown; headers?: Record<string, string>; via?: 'sandbox' | 'warm' } = {}): Promise<ApiResponse<any>> {
  if (bearer) tokensSent.push(bearer)
  const { via = 'warm', ...rest } = options
  return (via === 'sandbox' ? api : warm)(method, path, { ...rest, token: bearer })
}

test('start the app trusting the test issuer', async (t) => {
  // The Lambdas' output comes through this process: keep a copy to check what reaches the logs.
  for (const stream of [process.stdout, process.stderr]) {
    const write = stream.write.bind(stream) as (chunk: string | Uint8Array, ...rest: unknown[]) => boolean
    stream.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
      logged.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString())
      return write(chunk, ...rest)
    }) as typeof stream.write
  }
  app = await startSandboxApp({ name: 'auth', quiet: false, env: { AUTH_ISSUER: ISSUER, AUTH_AUDIENCE: `other-api, ${AUDIENCE}`, POWERTOOLS_LOG_LEVEL: 'INFO' } })
  api = apiClient(app.sandboxUrl)
  warm = apiClient(app.baseUrl)
  const created = await send('POST', '/tasks', await token(), { body: { title: 'signed in' }, via: 'sandbox' })
  t.equal(created.status, 201, 'a valid token of the configured issuer is accepted')
  t.equal(created.headers.get('access-control-expose-headers'), 'ETag, Location, Link, WWW-Authenticate', 'responses expose WWW-Authenticate')
})

test('no token, or a bad one: 401 with WWW-Authenticate, whatever the route', async (t) => {
  const other = await generateKeyPair('RS256', { extractable: true })
  const publicJwk = key.publicJwk
  const header = (alg: string): string => base64url(JSON.stringify({ alg, typ: 'JWT', kid: key.kid }))
  const payload = base64url(JSON.stringify({ iss: ISSUER, aud: AUDIENCE, sub: 'mallory', scope: 'tasks:read tasks:write', exp: now() + 3600 }))
  // The classic confusion attack: HS256 "signed" with the issuer's public key as the HMAC secret.
  const hmacWithPublicKey = `${header('HS256')}.${payload}.${createHmac('sha256', JSON.stringify(publicJwk)).update(`${header('HS256')}.${payload}`).digest('base64url')}`
  const cases: [string, string | null, string | undefined][] = [
    ['no token', null, 'Bearer'],
    ['malformed', 'not-a-jwt', 'Bearer error="invalid_token"'],
    ['a Basic header (no bearer credentials: a plain challenge, RFC 6750)', 'Basic YWxpY2U6c2VjcmV0', 'Bearer'],
    ['the Bearer scheme with no token', 'Bearer', 'Bearer error="invalid_token"'],
    ['unknown key', await new SignJWT({ iss: ISSUER, aud: AUDIENCE, sub: 'mallory', exp: now() + 3600 }).setProtectedHeader({ alg: 'RS256', kid: 'someone-else' }).sign(other.privateKey), 'Bearer error="invalid_token"'],
    ['signed with another key under the issuer\'s kid', await new SignJWT({ iss: ISSUER, aud: AUDIENCE, sub: 'mallory', exp: now() + 3600 }).setProtectedHeader({ alg: 'RS256', kid: key.kid }).sign(other.privateKey), 'Bearer error="invalid_token"'],
    ['expired beyond the 60 s skew', await token({ exp: now() - 120 }), 'Bearer error="invalid_token"'],
    ['not yet valid beyond the 60 s skew', await token({ nbf: now() + 120 }), 'Bearer error="invalid_token"'],
    ['wrong audience', await token({ aud: 'another-api' }), 'Bearer error="invalid_token"'],
    ['another aud with our client_id (aud decides when present, as API Gateway)', await token({ aud: 'another-api', client_id: AUDIENCE }), 'Bearer error="invalid_token"'],
    ['wrong issuer', await token({ iss: 'http://127.0.0.1:1/elsewhere' }), 'Bearer error="invalid_token"'],
    ['alg none', `${header('none')}.${payload}.`, 'Bearer error="invalid_token"'],
    ['HS256 signed with the public key', hmacWithPublicKey, 'Bearer error="invalid_token"'],
    ['no subject', await token({ sub: undefined }), 'Bearer error="invalid_token"'],
    ['a subject over 255 bytes', await token({ sub: 'é'.repeat(128) }), 'Bearer error="invalid_token"'],
    ['no expiry', await new SignJWT({ iss: ISSUER, aud: AUDIENCE, sub: 'alice', scope: 'tasks:read' }).setProtectedHeader({ alg: 'RS256', kid: key.kid }).sign(key.privateKey), 'Bearer error="invalid_token"'],
  ]
  // Every case on every kind of route through the warm API; the first through the sandbox too (the same pipeline, a process per request).
  for (const [index, [what, bearer, challenge]] of cases.entries()) {
    for (const via of index < 1 ? (['warm', 'sandbox'] as const) : (['warm'] as const)) {
      for (const [method, path] of [['GET', '/tasks'], ['POST', '/tasks'], ['GET', '/tasks/00000000-0000-4000-8000-000000000000/notifications']] as const) {
        const basic = bearer?.startsWith('Basic ') === true || bearer === 'Bearer'
        const answer = await send(method, path, basic ? null : bearer, { via, ...(basic && { headers: { authorization: bearer ?? '' } }), ...(method === 'POST' && { body: { title: 'should not be stored' } }) })
        const where = via === 'sandbox' ? ' (through the sandbox)' : ''
        t.equal(answer.status, 401, `${what}: ${method} ${path} is 401${where}`)
        t.deepEqual(answer.body, { message: 'Unauthorized' }, `${what}: the body${where}`)
        t.equal(answer.headers.get('www-authenticate'), challenge ?? null, `${what}: WWW-Authenticate${where}`)
      }
    }
  }
  const listed = await send('GET', '/tasks', await token())
  t.deepEqual(listed.body.map((task: { title: string }) => task.title), ['signed in'], 'nothing was stored by a refused request')
})

test('clock skew up to 60 s is tolerated; Cognito access tokens name the audience in client_id', async (t) => {
  t.equal((await send('GET', '/tasks', await token({ exp: now() - 30 }))).status, 200, 'expired 30 s ago: within the skew')
  t.equal((await send('GET', '/tasks', await token({ nbf: now() + 30 }))).status, 200, 'valid in 30 s: within the skew')
  t.equal((await send('GET', '/tasks', await token({ aud: undefined, client_id: AUDIENCE }))).status, 200, 'client_id instead of aud')
  t.equal((await send('GET', '/tasks', await token({ aud: ['someone', AUDIENCE] }))).status, 200, 'one of several audiences')
  const [, body, signature] = (await token()).split('.')
  const relabelled = `${base64url(JSON.stringify({ alg: 'RS512', typ: 'JWT', kid: key.kid }))}.${body}.${signature}`
  t.equal((await send('GET', '/tasks', relabelled)).status, 401, 'an RS512 header over an RS256 signature does not verify')
})

test('scopes: tasks:read for GET, tasks:write for writes; 403 with insufficient_scope', async (t) => {
  const reader = await token({ scope: 'tasks:read' })
  const writerOnly = await token({ scope: undefined, scp: ['tasks:write'] })
  const none = await token({ scope: 'profile email' })
  const read = await send('GET', '/tasks', reader)
  t.equal(read.status, 200, 'a reader may list')
  const write = await send('POST', '/tasks', reader, { body: { title: 'a reader cannot write' } })
  t.equal(write.status, 403, 'a reader may not create')
  t.deepEqual(write.body, { message: 'Forbidden' })
  t.equal(write.headers.get('www-authenticate'), 'Bearer error="insufficient_scope", scope="tasks:write"')
  t.equal((await send('DELETE', '/tasks/00000000-0000-4000-8000-000000000000', reader)).status, 403, 'nor delete (403 before 404)')
  const created = await send('POST', '/tasks', writerOnly, { body: { title: 'scp as an array' } })
  t.equal(created.status, 201, 'the scp claim, as an array, grants tasks:write')
  const cannotRead = await send('GET', `/tasks/${created.body.id}`, writerOnly)
  t.equal(cannotRead.status, 403, 'a writer without tasks:read may not read')
  t.equal(cannotRead.headers.get('www-authenticate'), 'Bearer error="insufficient_scope", scope="tasks:read"')
  t.equal((await send('GET', '/tasks', none)).status, 403, 'unrelated scopes grant nothing')
})

test('401 and 403 come before the body is looked at (before 415, 413 and 400)', async (t) => {
  const reader = await token({ scope: 'tasks:read' })
  for (const [what, headers, rawBody] of [
    ['not JSON', { 'content-type': 'text/plain' }, 'hello'],
    ['too large', { 'content-type': 'application/json' }, JSON.stringify({ title: 'x'.repeat(70 * 1024) })],
    ['invalid JSON', { 'content-type': 'application/json' }, '{'],
  ] as const) {
    const anonymous = await warm('POST', '/tasks', { headers, rawBody, token: null })
    t.equal(anonymous.status, 401, `${what} without a token: 401`)
    const forbidden = await warm('POST', '/tasks', { headers, rawBody, token: reader })
    t.equal(forbidden.status, 403, `${what} without the write scope: 403`)
  }
})

test('CORS preflight and the JSON 404 need no token; preflight allows Authorization', async (t) => {
  const preflight = await api('OPTIONS', '/tasks', { token: null, headers: { origin: 'https://app.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization, content-type' } })
  t.equal(preflight.status, 204)
  t.match(preflight.headers.get('access-control-allow-headers') ?? '', /(^|, )Authorization(,|$)/, 'Authorization is an allowed header')
  const unknown = await api('GET', '/nowhere', { token: null })
  t.equal(unknown.status, 404)
  t.deepEqual(unknown.body, { message: 'Not Found' })
})

test('no token and no Authorization header ever reaches a log line; of the claims only sub does', async (t) => {
  await send('POST', '/tasks', await token({ sub: 'log-checker' }), { body: { title: 'leaves a log line' }, via: 'sandbox' })
  await new Promise((resolve) => setTimeout(resolve, 500))
  // The Lambdas' structured lines (Powertools Logger and EMF), not the test's own report.
  const output = logged.join('').split('\n').filter((line) => line.startsWith('{"')).join('\n')
  t.match(output, /"sub":"log-checker"/, 'the caller is in the log (so the check below reads the Lambdas’ output)')
  const leaked = tokensSent.filter((sent) => output.includes(sent) || output.includes(sent.split('.')[1] ?? sent))
  t.equal(leaked.length, 0, `none of the ${tokensSent.length} tokens sent is in the log`)
  t.doesNotMatch(output, /authorization/i, 'no Authorization header either')
  t.doesNotMatch(output, /"scope":|"aud":|"iss":/, 'nor other claims')
})

test('a key set cut off mid-body is a 503 with Retry-After within about 4 s, never a hang', async (t) => {
  issuer.jwks = 'cut-off'
  try {
    // A cold Lambda (the sandbox's process per request) fetches the key set; a warm one would still hold it.
    const answer = await send('GET', '/tasks', await token(), { via: 'sandbox' })
    t.equal(answer.status, 503, 'the token is unchecked, not bad')
    t.deepEqual(answer.body, { message: 'Service Unavailable' })
    t.equal(answer.headers.get('retry-after'), '5', 'with Retry-After')
    t.ok(answer.ms < 4000, `answered in ${Math.round(answer.ms)} ms`)
  } finally {
    issuer.jwks = 'keys'
  }
  t.equal((await send('GET', '/tasks', await token(), { via: 'sandbox' })).status, 200, 'the issuer whole again: served')
})

test('stop', async (t) => {
  await stopAll(app, issuer.server)
  t.pass('stopped')
})
