import test from 'tape'
import { JoseTokenVerifier, type VerifierOptions } from '../../src/lib/adapters/jose-token-verifier.ts'
import { AuthUnavailableError, UnauthorizedError } from '../../src/lib/auth/caller.ts'
import type { AuthSettings } from '../../src/lib/config.ts'
import { newTestKey, signedToken, startTestIssuer, type TestKey } from '../helpers/test-issuer.ts'
import { waitFor } from '../../scripts/lib/harness/index.ts'

/**
 * The verifier against a real issuer on loopback: how often it fetches the
 * discovery document and the key set (once per container, again for a rotated
 * key after the cooldown, never per unknown kid, at most once per cooldown
 * while the issuer is down), what it makes of a token while the issuer
 * misbehaves (the keys it holds keep verifying for a day; with none,
 * unchecked: AuthUnavailableError, 503), API Gateway's audience rule, the
 * discovery document's issuer, and the URLs it refuses on Lambda.
 */
const first = await newTestKey('first')
const second = await newTestKey('second')
const stranger = await newTestKey('stranger')

const issuer = await startTestIssuer([first.publicJwk])
const ISSUER = issuer.url
test.onFinish(() => void issuer.server.close())

const MINUTE = 60_000
const settings = (overrides: Partial<AuthSettings> = {}): AuthSettings => ({ issuer: ISSUER, audiences: ['api'], jwksUrl: undefined, scopes: { read: '', write: '' }, ...overrides })
/** A verifier as a local run has it (not on Lambda), on a clock the test moves. */
const verifierOf = (overrides: Partial<AuthSettings> = {}, options: VerifierOptions = {}) => new JoseTokenVerifier(settings(overrides), { onLambda: false, ...options })

function tokenOf(key: TestKey, claims: Record<string, unknown> = {}): Promise<string> {
  const now = Math.floor(Date.now() / 1000)
  return signedToken(key, { iss: ISSUER, aud: 'api', sub: 'alice', scope: 'tasks:read', exp: now + 600, ...claims })
}

/** A token signed by a key the issuer never had, under a kid of its own. */
const unknownKidToken = (index: number): Promise<string> => tokenOf({ ...stranger, kid: `unknown-${index}` })

/** What a check came to: the caller, or the error. */
const outcome = (promise: Promise<unknown>): Promise<unknown> => promise.catch((error: unknown) => error)
const keyFetches = (): number => issuer.paths().filter((path) => path === '/keys').length

test('discovery and the key set are fetched once per container, however many tokens it checks', async (t) => {
  issuer.reset([first.publicJwk])
  const verifier = verifierOf()
  const callers = await Promise.all([1, 2, 3].map(async () => verifier.verify(await tokenOf(first))))
  t.deepEqual(callers.map((caller) => caller.sub), ['alice', 'alice', 'alice'])
  t.deepEqual([...callers[0]!.scopes], ['tasks:read'])
  await verifier.verify(await tokenOf(first))
  t.deepEqual(issuer.paths(), ['/.well-known/openid-configuration', '/keys'], 'one discovery, one key set fetch, shared by concurrent checks')
})

test('AUTH_JWKS_URL skips discovery', async (t) => {
  issuer.reset([first.publicJwk])
  t.equal((await verifierOf({ jwksUrl: `${ISSUER}/keys` }).verify(await tokenOf(first))).sub, 'alice')
  t.deepEqual(issuer.paths(), ['/keys'])
})

test('an unknown kid is a 401 and does not make the verifier fetch per request; a rotated key is fetched after the cooldown', async (t) => {
  issuer.reset([first.publicJwk])
  let clock = 1_000_000
  const verifier = verifierOf({}, { now: () => clock })
  await verifier.verify(await tokenOf(first))
  issuer.keys = [first.publicJwk, second.publicJwk]
  const early = await outcome(verifier.verify(await tokenOf(second)))
  t.ok(early instanceof UnauthorizedError, 'a key the cached set lacks, within 30 s of the fetch: invalid token')
  t.equal(keyFetches(), 1, 'and no new fetch')
  clock += 31_000
  t.equal((await verifier.verify(await tokenOf(second))).sub, 'alice', 'after the cooldown the new key is fetched and accepted')
  t.equal(keyFetches(), 2)
  t.ok((await outcome(verifier.verify(await tokenOf(stranger)))) instanceof UnauthorizedError, 'a key the issuer never had: invalid token')
  t.equal(keyFetches(), 2, 'the set just fetched is not fetched again for it')
  issuer.keys = [second.publicJwk]
  clock += 11 * MINUTE
  t.equal((await verifier.verify(await tokenOf(first))).sub, 'alice', 'after 10 minutes the keys held answer while they are fetched again')
  await waitFor('the refresh', () => (keyFetches() === 3 ? true : undefined), 2000, 10)
  t.ok((await outcome(verifier.verify(await tokenOf(first)))) instanceof UnauthorizedError, 'once refreshed, a key the issuer dropped is refused')
  t.equal(keyFetches(), 3, 'one refresh')
})

test('a flood of unknown kids makes at most one fetch per 30 s cooldown', async (t) => {
  issuer.reset([first.publicJwk])
  let clock = 1_000_000
  const verifier = verifierOf({}, { now: () => clock })
  await verifier.verify(await tokenOf(first))
  const flood = async (from: number): Promise<unknown[]> => Promise.all(Array.from({ length: 50 }, async (_, index) => outcome(verifier.verify(await unknownKidToken(from + index)))))
  t.ok((await flood(0)).every((error) => error instanceof UnauthorizedError), '50 unknown kids right after the fetch: all 401')
  t.equal(keyFetches(), 1, 'and not one fetch')
  clock += 31_000
  t.ok((await flood(100)).every((error) => error instanceof UnauthorizedError), '50 more after the cooldown: all 401')
  t.equal(keyFetches(), 2, 'for one fetch, shared')
  clock += 29_000
  await flood(200)
  t.equal(keyFetches(), 2, 'within the next cooldown: none')
  clock += 2_000
  await flood(300)
  t.equal(keyFetches(), 3, 'after it: one more')
  t.equal((await verifier.verify(await tokenOf(first))).sub, 'alice', 'and good tokens verified throughout')
})

test('while the issuer is down the keys held keep verifying, for up to a day; refreshes are tried once per cooldown', async (t) => {
  issuer.reset([first.publicJwk])
  let clock = 1_000_000
  const verifier = verifierOf({}, { now: () => clock })
  await verifier.verify(await tokenOf(first))
  issuer.jwks = 'cut-off'
  clock += 11 * MINUTE
  t.equal((await verifier.verify(await tokenOf(first))).sub, 'alice', 'after 11 minutes with the issuer down, a good token still verifies')
  const whileDown = await outcome(verifier.verify(await unknownKidToken(0)))
  t.ok(whileDown instanceof AuthUnavailableError, 'a key we lack while the refresh fails: unchecked (503), not invalid')
  t.match((whileDown as Error).message, /answer cut off/, 'and the log says why')
  t.equal(keyFetches(), 2, 'the refresh was tried once')
  const burst = await Promise.all(Array.from({ length: 20 }, async () => outcome(verifier.verify(await tokenOf(first)))))
  t.ok(burst.every((caller) => (caller as { sub?: string }).sub === 'alice'), '20 more good tokens verify')
  t.ok((await outcome(verifier.verify(await unknownKidToken(1)))) instanceof AuthUnavailableError, 'an unknown kid within the cooldown after the failure: 503')
  t.equal(keyFetches(), 2, 'and nothing is fetched within the cooldown after the failure')
  clock += 31_000
  t.equal((await verifier.verify(await tokenOf(first))).sub, 'alice', 'after the cooldown a good token still verifies')
  await waitFor('the second refresh', () => (keyFetches() === 3 ? true : undefined), 2000, 10)
  // An unknown kid now joins that refresh while it is in flight (or meets its failure): either way it returns once the refresh has settled.
  t.ok((await outcome(verifier.verify(await unknownKidToken(2)))) instanceof AuthUnavailableError, 'the refresh fails too: a key we lack is still unchecked')
  t.equal(keyFetches(), 3, 'and no fetch of its own')
  clock += 24 * 60 * MINUTE
  issuer.jwks = { status: 503 }
  const expired = await outcome(verifier.verify(await tokenOf(first)))
  t.ok(expired instanceof AuthUnavailableError, 'a day after the last successful fetch the keys are no longer used: 503')
  t.match((expired as Error).message, /answered 503/)
  const cooling = await outcome(verifier.verify(await tokenOf(first)))
  t.ok(cooling instanceof AuthUnavailableError, 'and with no usable key, within the cooldown: 503 at once')
  t.match((cooling as Error).message, /^No usable JWKS: the last fetch failed 0 s ago \(Fetching the JWKS failed: answered 503\)/)
  t.equal(keyFetches(), 4, 'without a fetch')
  issuer.jwks = 'keys'
  clock += 31_000
  t.equal((await verifier.verify(await tokenOf(first))).sub, 'alice', 'the issuer back, after the cooldown: verified again')
})

test('an issuer that cannot be read leaves the token unchecked (503); the next fetch waits out the cooldown', async (t) => {
  issuer.reset([first.publicJwk])
  let clock = 1_000_000
  const verifier = verifierOf({}, { now: () => clock })
  issuer.jwks = { status: 500 }
  const failed = await outcome(verifier.verify(await tokenOf(first)))
  t.ok(failed instanceof AuthUnavailableError, 'a 500 from the key set: unavailable, not invalid')
  t.match((failed as Error).message, /answered 500/)
  issuer.jwks = 'keys'
  t.ok((await outcome(verifier.verify(await tokenOf(first)))) instanceof AuthUnavailableError, 'within 30 s of the failure: still 503')
  t.equal(keyFetches(), 1, 'without a fetch (negative caching)')
  clock += 30_000
  t.equal((await verifier.verify(await tokenOf(first))).sub, 'alice', '30 s later the issuer is asked again')

  for (const [what, answer] of [
    ['a redirect (not followed)', 'redirect'],
    ['an answer cut off mid-body', 'cut-off'],
    ['an answer that is not JSON', { body: '<html>' }],
    ['JSON that is not a key set', { body: '{"keys":"none"}' }],
    ['an answer over 256 KiB', { body: JSON.stringify({ keys: [], padding: 'x'.repeat(300 * 1024) }) }],
  ] as const) {
    issuer.reset([first.publicJwk])
    issuer.jwks = answer
    const started = performance.now()
    const error = await outcome(verifierOf().verify(await tokenOf(first)))
    t.ok(error instanceof AuthUnavailableError, `${what}: unavailable`)
    t.ok(performance.now() - started < 1000, `${what}: at once`)
    t.notOk(String((error as Error).message).includes(ISSUER), `${what}: the message does not quote the URL`)
  }
  t.equal(issuer.paths().filter((path) => path === '/.well-known/openid-configuration').length, 1, 'the redirect target was never requested')

  const closed = await outcome(verifierOf({ issuer: 'http://127.0.0.1:1' }).verify(await tokenOf(first, { iss: 'http://127.0.0.1:1' })))
  t.ok(closed instanceof AuthUnavailableError, 'an issuer nobody listens for: unavailable')
  t.match((closed as Error).message, /ECONNREFUSED/)
})

test('an issuer that accepts the connection and never answers leaves the token unchecked after 3 s', async (t) => {
  issuer.reset([first.publicJwk])
  issuer.jwks = 'silent'
  const started = Date.now()
  const error = await outcome(verifierOf().verify(await tokenOf(first)))
  t.ok(error instanceof AuthUnavailableError)
  t.match((error as Error).message, /no answer within 3000 ms/)
  t.ok(Date.now() - started < 4500, 'given up at the deadline')
  issuer.server.requests.length = 0
})

test('audience as API Gateway checks it: aud when the token has one, client_id only when it has none', async (t) => {
  issuer.reset([first.publicJwk])
  const verifier = verifierOf({ audiences: ['api', 'other'] })
  for (const [what, claims, accepted] of [
    ['aud, a string', { aud: 'api' }, true],
    ['aud, an array naming one of ours', { aud: ['someone', 'other'] }, true],
    ['no aud, client_id ours (a Cognito access token)', { aud: undefined, client_id: 'api' }, true],
    ['aud another, client_id ours', { aud: 'someone', client_id: 'api' }, false],
    ['aud an empty array, client_id ours', { aud: [], client_id: 'api' }, false],
    ['no aud, client_id another', { aud: undefined, client_id: 'someone' }, false],
    ['neither', { aud: undefined }, false],
  ] as const) {
    const result = await outcome(verifier.verify(await tokenOf(first, claims)))
    if (accepted) t.equal((result as { sub?: string }).sub, 'alice', `${what}: accepted`)
    else t.ok(result instanceof UnauthorizedError && /audience/.test(result.message), `${what}: 401`)
  }
})

test("a discovery document naming another issuer is not this issuer's: its keys are never fetched (503, said clearly)", async (t) => {
  for (const named of [`${ISSUER}/`, 'https://issuer.example']) {
    issuer.reset([first.publicJwk])
    issuer.namedIssuer = named
    const error = await outcome(verifierOf().verify(await tokenOf(first)))
    t.ok(error instanceof AuthUnavailableError, `discovery names ${named}: unavailable`)
    t.equal((error as Error).message, `OpenID discovery names the issuer ${JSON.stringify(named)}, not AUTH_ISSUER (they must be equal, character for character): its keys are not used`)
    t.deepEqual(issuer.paths(), ['/.well-known/openid-configuration'], 'no key set fetched')
  }
})

test('a key set over plain http off loopback is never fetched', async (t) => {
  issuer.reset([first.publicJwk])
  const error = await outcome(verifierOf({ jwksUrl: 'http://issuer.example/keys' }).verify(await tokenOf(first)))
  t.ok(error instanceof AuthUnavailableError)
  t.match((error as Error).message, /plain http is allowed only to a loopback address/)
})

test('on Lambda no loopback host and no plain http: refused before any connection, saying why', async (t) => {
  issuer.reset([first.publicJwk])
  for (const [what, overrides, reason] of [
    ['the local issuer by discovery', {}, /^OpenID discovery: a loopback host is never used on Lambda/],
    ['a loopback AUTH_JWKS_URL', { jwksUrl: `${ISSUER}/keys` }, /^AUTH_JWKS_URL: a loopback host is never used on Lambda/],
    ['https to localhost', { jwksUrl: 'https://localhost:9001/keys' }, /loopback host is never used on Lambda/],
    ['plain http elsewhere', { jwksUrl: 'http://issuer.example/keys' }, /^AUTH_JWKS_URL: plain http is never used on Lambda: https only/],
  ] as const) {
    const error = await outcome(new JoseTokenVerifier(settings(overrides), { onLambda: true }).verify(await tokenOf(first)))
    t.ok(error instanceof AuthUnavailableError, `${what}: unavailable`)
    t.match((error as Error).message, reason, `${what}: ${(error as Error).message}`)
  }
  t.deepEqual(issuer.paths(), [], 'nothing was requested')
})

test("whether it runs on Lambda comes from AWS_LAMBDA_FUNCTION_NAME, a name Lambda can give (not the sandbox's labels)", async (t) => {
  const saved = process.env.AWS_LAMBDA_FUNCTION_NAME
  try {
    for (const [name, onLambda] of [
      ['queue-leveling-staging-GetTasksHTTPLambda-AbC123dEf', true],
      ['@http get-tasks', false],
      ['@queues notifications', false],
      [undefined, false],
    ] as const) {
      issuer.reset([first.publicJwk])
      if (name === undefined) delete process.env.AWS_LAMBDA_FUNCTION_NAME
      else process.env.AWS_LAMBDA_FUNCTION_NAME = name
      const result = await outcome(new JoseTokenVerifier(settings({ jwksUrl: `${ISSUER}/keys` })).verify(await tokenOf(first)))
      if (onLambda) t.ok(result instanceof AuthUnavailableError && /never used on Lambda/.test(result.message), `${name}: on Lambda, the loopback issuer refused`)
      else t.equal((result as { sub?: string }).sub, 'alice', `${name ?? 'unset'}: a local run, the loopback issuer trusted`)
    }
  } finally {
    if (saved === undefined) delete process.env.AWS_LAMBDA_FUNCTION_NAME
    else process.env.AWS_LAMBDA_FUNCTION_NAME = saved
  }
})
