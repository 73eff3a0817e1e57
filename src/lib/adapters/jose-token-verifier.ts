import { createLocalJWKSet, errors, jwtVerify, type JWSHeaderParameters, type JWTPayload, type FlattenedJWSInput } from 'jose'
import { AuthUnavailableError, scopesOf, UnauthorizedError, type Caller, type TokenVerifier } from '../auth/caller.ts'
import type { AuthSettings } from '../config.ts'
import { lazy } from '../lazy.ts'
import { insecureUrlReason } from '../secure-url.ts'
import { getJson } from './get-json.ts'

/** What API Gateway's JWT authorizer accepts: never `none`, never an HMAC keyed with a public key. */
const ALGORITHMS = ['RS256', 'RS384', 'RS512']
const CLOCK_SKEW_SECONDS = 60
const FETCH_TIMEOUT_MS = 3000
/** A discovery document or key set longer than this is not one. */
const MAX_DOCUMENT_BYTES = 256 * 1024
/** A token signed with a key the cached JWKS lacks refreshes it at most this often (jose's cooldown). */
const JWKS_REFRESH_COOLDOWN_MS = 30_000
/** Keys are fetched again after this long, so a rotation reaches warm containers (jose's cacheMaxAge). */
const JWKS_MAX_AGE_MS = 10 * 60_000

/** A URL the verifier may fetch keys from: `https`, or plain `http` on loopback (a local issuer). */
function fetchableUrl(value: string, what: string): URL {
  const url = new URL(value)
  const reason = insecureUrlReason(url)
  if (reason) throw new AuthUnavailableError(`${what}: ${reason}`)
  return url
}

/** A JSON document of the issuer; any failure to get one means the token cannot be checked now. */
async function issuerDocument(url: URL, what: string): Promise<Record<string, unknown>> {
  let document: unknown
  try {
    document = await getJson(url, { timeoutMs: FETCH_TIMEOUT_MS, maxBytes: MAX_DOCUMENT_BYTES })
  } catch (error) {
    throw new AuthUnavailableError(`${what} failed: ${(error as Error).message}`)
  }
  if (typeof document !== 'object' || document === null) throw new AuthUnavailableError(`${what} is not a JSON object`)
  return document as Record<string, unknown>
}

/** `<issuer>/.well-known/openid-configuration` -> `jwks_uri`. */
async function discoverJwksUrl(issuer: string): Promise<URL> {
  const discovery = fetchableUrl(`${issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`, 'OpenID discovery')
  const { jwks_uri: jwksUri } = await issuerDocument(discovery, 'OpenID discovery')
  if (typeof jwksUri !== 'string') throw new AuthUnavailableError('OpenID discovery has no jwks_uri')
  return fetchableUrl(jwksUri, 'jwks_uri')
}

type KeyLookup = ReturnType<typeof createLocalJWKSet>

/**
 * The issuer's key set, per container: fetched on first use, again once it is
 * JWKS_MAX_AGE_MS old, and when a token names a key it lacks (at most every
 * JWKS_REFRESH_COOLDOWN_MS, so unknown `kid`s cannot make us fetch per
 * request). jose's createRemoteJWKSet does the same through `fetch`, whose
 * first use costs every fresh process about 70 ms; locally each request is
 * one. A failed fetch is not kept: the next token tries again.
 */
class IssuerKeys {
  readonly #url: () => Promise<URL>
  readonly #now: () => number
  #current: { lookup: KeyLookup; fetchedAt: number } | undefined
  #fetching: Promise<{ lookup: KeyLookup; fetchedAt: number }> | undefined

  constructor(url: () => Promise<URL>, now: () => number) {
    this.#url = url
    this.#now = now
  }

  /** jose's key resolver: the key for a token's header, from a fresh enough key set. */
  readonly resolve = async (header: JWSHeaderParameters, token: FlattenedJWSInput) => {
    let keys = this.#current && this.#now() - this.#current.fetchedAt < JWKS_MAX_AGE_MS ? this.#current : await this.#fetch()
    try {
      return await keys.lookup(header, token)
    } catch (error) {
      if (!(error instanceof errors.JWKSNoMatchingKey) || this.#now() - keys.fetchedAt < JWKS_REFRESH_COOLDOWN_MS) throw error
      keys = await this.#fetch()
      return keys.lookup(header, token)
    }
  }

  #fetch(): Promise<{ lookup: KeyLookup; fetchedAt: number }> {
    this.#fetching ??= (async () => {
      const { keys } = await issuerDocument(await this.#url(), 'Fetching the JWKS')
      let lookup: KeyLookup
      try {
        if (!Array.isArray(keys)) throw new TypeError('no keys')
        lookup = createLocalJWKSet({ keys })
      } catch {
        throw new AuthUnavailableError('The JWKS is not a key set')
      }
      this.#current = { lookup, fetchedAt: this.#now() }
      return this.#current
    })().finally(() => {
      this.#fetching = undefined
    })
    return this.#fetching
  }
}

/** Does the token name one of our audiences, in `aud` or (Cognito access tokens) `client_id`, as API Gateway checks? */
function hasAudience(payload: JWTPayload, audiences: string[]): boolean {
  const named = [...(Array.isArray(payload.aud) ? payload.aud : payload.aud === undefined ? [] : [payload.aud]), payload.client_id]
  return named.some((value) => typeof value === 'string' && audiences.includes(value))
}

/**
 * Bearer tokens of an OpenID Connect issuer, checked with jose against its JWKS
 * (IssuerKeys: fetched once per container, refreshed when old or when a token
 * names an unknown key): signature, issuer, audience, `exp`/`nbf` with at most
 * a minute of skew, RS* only. With no issuer or audience configured, every
 * token is refused.
 */
export class JoseTokenVerifier implements TokenVerifier {
  readonly #settings: AuthSettings
  readonly #keys: IssuerKeys

  /** `now` is the clock of the key set's age and refresh cooldown (tests move it). */
  constructor(settings: AuthSettings, now: () => number = Date.now) {
    this.#settings = settings
    const { issuer, jwksUrl } = settings
    const url = lazy(async () => (jwksUrl ? fetchableUrl(jwksUrl, 'AUTH_JWKS_URL') : discoverJwksUrl(issuer ?? '')))
    this.#keys = new IssuerKeys(url, now)
  }

  async verify(token: string): Promise<Caller> {
    const { issuer, audiences } = this.#settings
    // Outside a local run nothing sets an issuer for us: no configuration is no access, never a fallback.
    if (!issuer || audiences.length === 0) throw new UnauthorizedError(true, 'No token issuer is configured (AUTH_ISSUER, AUTH_AUDIENCE)')
    if (!token) throw new UnauthorizedError(true, 'Not a bearer token')
    let payload: JWTPayload
    try {
      ;({ payload } = await jwtVerify(token, this.#keys.resolve, { issuer, algorithms: ALGORITHMS, clockTolerance: CLOCK_SKEW_SECONDS, requiredClaims: ['exp', 'sub'] }))
    } catch (error) {
      // A token the issuer's keys cannot be fetched for (network, timeout, a broken answer) is unchecked, not invalid.
      if (error instanceof AuthUnavailableError) throw error
      if (!(error instanceof errors.JOSEError)) throw new AuthUnavailableError(`The token could not be checked: ${(error as Error).name}`)
      throw new UnauthorizedError(true, `Invalid token: ${error.code}`)
    }
    if (!hasAudience(payload, audiences)) throw new UnauthorizedError(true, 'Invalid token: not for this audience')
    // OpenID Connect keeps a subject within 255 ASCII characters; a longer one could not even key the owner index.
    if (typeof payload.sub !== 'string' || payload.sub === '' || Buffer.byteLength(payload.sub) > 255) throw new UnauthorizedError(true, 'Invalid token: no usable subject')
    return { sub: payload.sub, scopes: scopesOf(payload) }
  }
}
