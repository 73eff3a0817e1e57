import { createLocalJWKSet, errors, jwtVerify, type JWSHeaderParameters, type JWTPayload, type FlattenedJWSInput } from 'jose'
import { AuthUnavailableError, scopesOf, UnauthorizedError, type Caller, type TokenVerifier } from '../auth/caller.ts'
import type { AuthSettings } from '../config.ts'
import { lazy } from '../lazy.ts'
import { insecureUrlReason, runsOnLambda } from '../secure-url.ts'
import { getJson } from './get-json.ts'

/** What API Gateway's JWT authorizer accepts: never `none`, never an HMAC keyed with a public key. */
const ALGORITHMS = ['RS256', 'RS384', 'RS512']
const CLOCK_SKEW_SECONDS = 60
const FETCH_TIMEOUT_MS = 3000
/** A discovery document or key set longer than this is not one. */
const MAX_DOCUMENT_BYTES = 256 * 1024
/**
 * After a fetch of the key set ends, well or badly, no other starts for this
 * long (jose's cooldown for unknown keys): neither a flood of unknown `kid`s
 * nor an issuer outage makes a container fetch more than twice a minute.
 */
const JWKS_FETCH_COOLDOWN_MS = 30_000
/** Keys this old are fetched again (beside the request, which they still answer), so a rotation reaches warm containers. */
const JWKS_REFRESH_INTERVAL_MS = 10 * 60_000
/** Keys are trusted this long after their last successful fetch: an issuer outage up to a day is no API outage. */
const JWKS_MAX_AGE_MS = 24 * 60 * 60_000

/** What the verifier may fetch keys from (secure-url.ts; on Lambda `https` off loopback only): refused before any connection. */
function fetchableUrl(value: string, what: string, onLambda: boolean): URL {
  const url = URL.parse(value)
  if (!url) throw new AuthUnavailableError(`${what} is not a URL`)
  const reason = insecureUrlReason(url, { onLambda })
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

/**
 * `<issuer>/.well-known/openid-configuration` -> `jwks_uri`, from a document
 * that names exactly our issuer (OpenID Connect Discovery 1.0, 4.3): keys
 * another issuer's document points at are not this issuer's keys.
 */
async function discoverJwksUrl(issuer: string, onLambda: boolean): Promise<URL> {
  const discovery = fetchableUrl(`${issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`, 'OpenID discovery', onLambda)
  const { issuer: named, jwks_uri: jwksUri } = await issuerDocument(discovery, 'OpenID discovery')
  if (named !== issuer) {
    const shown = typeof named === 'string' ? JSON.stringify(named.slice(0, 200)) : 'none'
    throw new AuthUnavailableError(`OpenID discovery names the issuer ${shown}, not AUTH_ISSUER (they must be equal, character for character): its keys are not used`)
  }
  if (typeof jwksUri !== 'string') throw new AuthUnavailableError('OpenID discovery has no jwks_uri')
  return fetchableUrl(jwksUri, 'jwks_uri', onLambda)
}

type KeyLookup = ReturnType<typeof createLocalJWKSet>

interface KeySet {
  lookup: KeyLookup
  fetchedAt: number
}

/**
 * The issuer's key set, per container. jose's createRemoteJWKSet would do
 * most of this through `fetch`, whose first use costs every fresh process
 * about 70 ms (locally each request is one), and it drops its keys when a
 * refresh fails. Here:
 * - at most one fetch is in flight, and none starts within
 *   JWKS_FETCH_COOLDOWN_MS of the last one's end (a failure is remembered
 *   that long: negative caching);
 * - keys JWKS_REFRESH_INTERVAL_MS old are refreshed beside the request they
 *   answer; while refreshes fail they keep answering until JWKS_MAX_AGE_MS;
 * - a token naming a key we lack waits for a fetch, unless one ended within
 *   the cooldown: then it is nobody's key (401), or, if that fetch failed, a
 *   key we cannot check now (503).
 */
class IssuerKeys {
  readonly #download: () => Promise<KeySet>
  readonly #now: () => number
  #held: KeySet | undefined
  #fetching: Promise<KeySet> | undefined
  #lastFetch: { endedAt: number; failure?: AuthUnavailableError } | undefined

  constructor(url: () => Promise<URL>, now: () => number) {
    this.#now = now
    this.#download = async () => {
      const { keys } = await issuerDocument(await url(), 'Fetching the JWKS')
      try {
        if (!Array.isArray(keys)) throw new TypeError('no keys')
        return { lookup: createLocalJWKSet({ keys }), fetchedAt: this.#now() }
      } catch {
        throw new AuthUnavailableError('The JWKS is not a key set')
      }
    }
  }

  /** jose's key resolver: the key for a token's header. */
  readonly resolve = async (header: JWSHeaderParameters, token: FlattenedJWSInput) => {
    const held = this.#held && this.#now() - this.#held.fetchedAt < JWKS_MAX_AGE_MS ? this.#held : undefined
    if (!held) return (await this.#fetchOrExplain()).lookup(header, token)
    // The refresh's outcome lands in #held or #lastFetch; this request is answered by the keys held.
    if (this.#now() - held.fetchedAt >= JWKS_REFRESH_INTERVAL_MS) this.#fetch()?.catch(() => undefined)
    try {
      return await held.lookup(header, token)
    } catch (error) {
      if (!(error instanceof errors.JWKSNoMatchingKey)) throw error
      const fetching = this.#fetch()
      if (fetching) return (await fetching).lookup(header, token)
      const failure = this.#lastFetch?.failure
      if (failure) throw new AuthUnavailableError(`A key the cached JWKS lacks, and ${this.#failureReport(failure)}`)
      throw error
    }
  }

  /** The fetch in flight, else a new one; undefined within the cooldown after the last. */
  #fetch(): Promise<KeySet> | undefined {
    if (this.#fetching) return this.#fetching
    if (this.#lastFetch && this.#now() - this.#lastFetch.endedAt < JWKS_FETCH_COOLDOWN_MS) return undefined
    this.#fetching = this.#download()
      .then(
        (keys) => {
          this.#held = keys
          this.#lastFetch = { endedAt: this.#now() }
          return keys
        },
        (error: unknown) => {
          const failure = error instanceof AuthUnavailableError ? error : new AuthUnavailableError(`Fetching the JWKS failed: ${(error as Error).name}`)
          this.#lastFetch = { endedAt: this.#now(), failure }
          throw failure
        },
      )
      .finally(() => {
        this.#fetching = undefined
      })
    return this.#fetching
  }

  /** With no usable keys: a fetch, or (within the cooldown after a failed one) why there are none. */
  #fetchOrExplain(): Promise<KeySet> {
    const fetching = this.#fetch()
    if (fetching) return fetching
    throw new AuthUnavailableError(`No usable JWKS: ${this.#failureReport(this.#lastFetch?.failure)}`)
  }

  #failureReport(failure: AuthUnavailableError | undefined): string {
    const ago = Math.round((this.#now() - (this.#lastFetch?.endedAt ?? 0)) / 1000)
    return `the last fetch failed ${ago} s ago (${failure?.message ?? 'no key set'}); the next not before ${JWKS_FETCH_COOLDOWN_MS / 1000} s after it`
  }
}

/** API Gateway's JWT authorizer rule: `aud` (a string or an array) when the token has one; `client_id` only when it has none. */
function hasAudience(payload: JWTPayload, audiences: string[]): boolean {
  const named: unknown[] = payload.aud === undefined ? [payload.client_id] : Array.isArray(payload.aud) ? payload.aud : [payload.aud]
  return named.some((value) => typeof value === 'string' && audiences.includes(value))
}

export interface VerifierOptions {
  /** The clock of the key set's age and the fetch cooldown (tests move it). */
  now?: () => number
  /** On Lambda loopback and plain http are never fetched (secure-url.ts); by default, from the environment. */
  onLambda?: boolean
}

/**
 * Bearer tokens of an OpenID Connect issuer, checked with jose against its JWKS
 * (IssuerKeys: fetched once per container, refreshed when old or when a token
 * names an unknown key, kept through failed refreshes): signature, issuer,
 * audience, `exp`/`nbf` with at most a minute of skew, RS* only. With no
 * issuer or audience configured, every token is refused.
 */
export class JoseTokenVerifier implements TokenVerifier {
  readonly #settings: AuthSettings
  readonly #keys: IssuerKeys

  constructor(settings: AuthSettings, options: VerifierOptions = {}) {
    this.#settings = settings
    const { issuer, jwksUrl } = settings
    const onLambda = options.onLambda ?? runsOnLambda()
    const url = lazy(async () => (jwksUrl ? fetchableUrl(jwksUrl, 'AUTH_JWKS_URL', onLambda) : discoverJwksUrl(issuer ?? '', onLambda)))
    this.#keys = new IssuerKeys(url, options.now ?? Date.now)
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
