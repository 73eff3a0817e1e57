import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose'
import test from 'tape'
import { JoseTokenVerifier } from '../../src/lib/adapters/jose-token-verifier.ts'
import { AuthUnavailableError, UnauthorizedError } from '../../src/lib/auth/caller.ts'
import type { AuthSettings } from '../../src/lib/config.ts'

/**
 * The verifier against a real issuer on loopback: how often it fetches the
 * discovery document and the key set (once per container, again for a rotated
 * key after the cooldown, never per unknown kid), and what an unreachable or
 * misbehaving issuer makes of a token (unchecked: AuthUnavailableError, 503).
 */
interface Key {
  kid: string
  privateKey: CryptoKey
  publicJwk: JWK
}

async function newKey(kid: string): Promise<Key> {
  const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true })
  return { kid, privateKey, publicJwk: { ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' } }
}

const first = await newKey('first')
const second = await newKey('second')

/** What the issuer serves; tests change it between calls. */
const issuerState = { keys: [first.publicJwk], jwksStatus: 200, jwksBody: undefined as string | undefined, redirect: false }
const requests: string[] = []
const server: Server = createServer((request, response) => {
  requests.push(request.url ?? '')
  if (request.url === '/.well-known/openid-configuration') {
    response.setHeader('content-type', 'application/json')
    response.end(JSON.stringify({ issuer: ISSUER, jwks_uri: `${ISSUER}/keys` }))
    return
  }
  if (issuerState.redirect) {
    response.writeHead(302, { location: `${ISSUER}/.well-known/openid-configuration` }).end()
    return
  }
  response.writeHead(issuerState.jwksStatus, { 'content-type': 'application/json' })
  response.end(issuerState.jwksBody ?? JSON.stringify({ keys: issuerState.keys }))
})
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
const ISSUER = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
test.onFinish(() => server.close())

const settings = (overrides: Partial<AuthSettings> = {}): AuthSettings => ({ issuer: ISSUER, audiences: ['api'], jwksUrl: undefined, scopes: { read: '', write: '' }, ...overrides })

function tokenOf(key: Key, claims: Record<string, unknown> = {}): Promise<string> {
  const now = Math.floor(Date.now() / 1000)
  return new SignJWT({ iss: ISSUER, aud: 'api', sub: 'alice', scope: 'tasks:read', exp: now + 600, ...claims }).setProtectedHeader({ alg: 'RS256', kid: key.kid }).sign(key.privateKey)
}

const refusal = (promise: Promise<unknown>): Promise<unknown> => promise.then(() => 'accepted', (error: unknown) => error)

function reset(): void {
  requests.length = 0
  Object.assign(issuerState, { keys: [first.publicJwk], jwksStatus: 200, jwksBody: undefined, redirect: false })
}

test('discovery and the key set are fetched once per container, however many tokens it checks', async (t) => {
  reset()
  const verifier = new JoseTokenVerifier(settings())
  const callers = await Promise.all([1, 2, 3].map(async () => verifier.verify(await tokenOf(first))))
  t.deepEqual(callers.map((caller) => caller.sub), ['alice', 'alice', 'alice'])
  t.deepEqual([...callers[0]!.scopes], ['tasks:read'])
  await verifier.verify(await tokenOf(first))
  t.deepEqual(requests, ['/.well-known/openid-configuration', '/keys'], 'one discovery, one key set fetch, shared by concurrent checks')
})

test('AUTH_JWKS_URL skips discovery', async (t) => {
  reset()
  const verifier = new JoseTokenVerifier(settings({ jwksUrl: `${ISSUER}/keys` }))
  t.equal((await verifier.verify(await tokenOf(first))).sub, 'alice')
  t.deepEqual(requests, ['/keys'])
})

test('an unknown kid is a 401 and does not make the verifier fetch per request; a rotated key is fetched after the cooldown', async (t) => {
  reset()
  let clock = 1_000_000
  const verifier = new JoseTokenVerifier(settings(), () => clock)
  await verifier.verify(await tokenOf(first))
  issuerState.keys = [first.publicJwk, second.publicJwk]
  const early = await refusal(verifier.verify(await tokenOf(second)))
  t.ok(early instanceof UnauthorizedError, 'a key the cached set lacks, within 30 s of the fetch: invalid token')
  t.equal(requests.filter((path) => path === '/keys').length, 1, 'and no new fetch')
  clock += 31_000
  t.equal((await verifier.verify(await tokenOf(second))).sub, 'alice', 'after the cooldown the new key is fetched and accepted')
  t.equal(requests.filter((path) => path === '/keys').length, 2)
  const stranger = await newKey('stranger')
  t.ok((await refusal(verifier.verify(await tokenOf(stranger)))) instanceof UnauthorizedError, 'a key the issuer never had: invalid token')
  t.equal(requests.filter((path) => path === '/keys').length, 2, 'the set just fetched is not fetched again for it')
  issuerState.keys = [second.publicJwk]
  clock += 11 * 60_000
  t.ok((await refusal(verifier.verify(await tokenOf(first)))) instanceof UnauthorizedError, 'after 10 minutes the set is fetched again: a key the issuer dropped is refused')
  t.equal(requests.filter((path) => path === '/keys').length, 3)
})

test('an issuer that cannot be read leaves the token unchecked (503), and the next request tries again', async (t) => {
  reset()
  const verifier = new JoseTokenVerifier(settings())
  issuerState.jwksStatus = 500
  const failed = await refusal(verifier.verify(await tokenOf(first)))
  t.ok(failed instanceof AuthUnavailableError, 'a 500 from the key set: unavailable, not invalid')
  t.match((failed as Error).message, /answered 500/)
  issuerState.jwksStatus = 200
  t.equal((await verifier.verify(await tokenOf(first))).sub, 'alice', 'no failure is cached')

  for (const [what, change] of [
    ['a redirect (not followed)', () => (issuerState.redirect = true)],
    ['an answer that is not JSON', () => (issuerState.jwksBody = '<html>')],
    ['JSON that is not a key set', () => (issuerState.jwksBody = '{"keys":"none"}')],
    ['an answer over 256 KiB', () => (issuerState.jwksBody = JSON.stringify({ keys: [], padding: 'x'.repeat(300 * 1024) }))],
  ] as const) {
    reset()
    change()
    const error = await refusal(new JoseTokenVerifier(settings()).verify(await tokenOf(first)))
    t.ok(error instanceof AuthUnavailableError, `${what}: unavailable`)
    t.notOk(String((error as Error).message).includes(ISSUER), 'and the message does not quote the URL')
  }
  t.equal(requests.filter((path) => path === '/.well-known/openid-configuration').length, 1, 'the redirect target was never requested')

  const closed = await refusal(new JoseTokenVerifier(settings({ issuer: 'http://127.0.0.1:1' })).verify(await tokenOf(first, { iss: 'http://127.0.0.1:1' })))
  t.ok(closed instanceof AuthUnavailableError, 'an issuer nobody listens for: unavailable')
  t.match((closed as Error).message, /ECONNREFUSED/)
})

test('an issuer that accepts the connection and never answers leaves the token unchecked after 3 s', async (t) => {
  const silent = createServer(() => undefined)
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve))
  const jwksUrl = `http://127.0.0.1:${(silent.address() as AddressInfo).port}/keys`
  const started = Date.now()
  const error = await refusal(new JoseTokenVerifier(settings({ jwksUrl })).verify(await tokenOf(first)))
  t.ok(error instanceof AuthUnavailableError)
  t.match((error as Error).message, /no answer within 3000 ms/)
  t.ok(Date.now() - started < 4500, 'given up at the deadline')
  silent.closeAllConnections()
  silent.close()
})

test('a key set over plain http off loopback is never fetched', async (t) => {
  reset()
  const error = await refusal(new JoseTokenVerifier(settings({ jwksUrl: 'http://issuer.example/keys' })).verify(await tokenOf(first)))
  t.ok(error instanceof AuthUnavailableError)
  t.match((error as Error).message, /plain http is allowed only to a loopback address/)
  t.deepEqual(requests, [])
})
