import { createRemoteJWKSet, errors, jwtVerify, type JWTPayload } from 'jose'
import { AuthUnavailableError, scopesOf, UnauthorizedError, type Caller, type TokenVerifier } from '../auth/caller.ts'
import type { AuthSettings } from '../config.ts'
import { lazy } from '../lazy.ts'
import { insecureUrlReason } from '../secure-url.ts'

/** What API Gateway's JWT authorizer accepts: never `none`, never an HMAC keyed with a public key. */
const ALGORITHMS = ['RS256', 'RS384', 'RS512']
const CLOCK_SKEW_SECONDS = 60
const FETCH_TIMEOUT_MS = 3000
/** A token signed with a key the cached JWKS lacks refreshes it at most this often (jose's cooldown). */
const JWKS_REFRESH_COOLDOWN_MS = 30_000

/** A URL the verifier may fetch keys from: `https`, or plain `http` on loopback (a local issuer). */
function fetchableUrl(value: string, what: string): URL {
  const url = new URL(value)
  const reason = insecureUrlReason(url)
  if (reason) throw new AuthUnavailableError(`${what}: ${reason}`)
  return url
}

/** `<issuer>/.well-known/openid-configuration` -> `jwks_uri`. */
async function discoverJwksUrl(issuer: string): Promise<URL> {
  const discovery = fetchableUrl(`${issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`, 'OpenID discovery')
  let response: Response
  try {
    response = await fetch(discovery, { signal: AbortSignal.timeout(FETCH_TIMEOUT_MS), redirect: 'error' })
  } catch (error) {
    throw new AuthUnavailableError(`OpenID discovery failed: ${(error as Error).name}`)
  }
  if (!response.ok) throw new AuthUnavailableError(`OpenID discovery answered ${response.status}`)
  const document = (await response.json().catch(() => ({}))) as { jwks_uri?: unknown }
  if (typeof document.jwks_uri !== 'string') throw new AuthUnavailableError('OpenID discovery has no jwks_uri')
  return fetchableUrl(document.jwks_uri, 'jwks_uri')
}

/** Does the token name one of our audiences, in `aud` or (Cognito access tokens) `client_id`, as API Gateway checks? */
function hasAudience(payload: JWTPayload, audiences: string[]): boolean {
  const named = [...(Array.isArray(payload.aud) ? payload.aud : payload.aud === undefined ? [] : [payload.aud]), payload.client_id]
  return named.some((value) => typeof value === 'string' && audiences.includes(value))
}

/**
 * Bearer tokens of an OpenID Connect issuer, checked with jose against its JWKS
 * (fetched once per container, refreshed when a token names an unknown key):
 * signature, issuer, audience, `exp`/`nbf` with at most a minute of skew, RS*
 * only. With no issuer or audience configured, every token is refused.
 */
export class JoseTokenVerifier implements TokenVerifier {
  readonly #settings: AuthSettings
  readonly #keys = lazy(async () => {
    const { issuer, jwksUrl } = this.#settings
    const url = jwksUrl ? fetchableUrl(jwksUrl, 'AUTH_JWKS_URL') : await discoverJwksUrl(issuer ?? '')
    return createRemoteJWKSet(url, { timeoutDuration: FETCH_TIMEOUT_MS, cooldownDuration: JWKS_REFRESH_COOLDOWN_MS })
  })

  constructor(settings: AuthSettings) {
    this.#settings = settings
  }

  async verify(token: string): Promise<Caller> {
    const { issuer, audiences } = this.#settings
    // Outside a local run nothing sets an issuer for us: no configuration is no access, never a fallback.
    if (!issuer || audiences.length === 0) throw new UnauthorizedError(true, 'No token issuer is configured (AUTH_ISSUER, AUTH_AUDIENCE)')
    if (!token) throw new UnauthorizedError(true, 'Not a bearer token')
    const keys = await this.#keys()
    let payload: JWTPayload
    try {
      ;({ payload } = await jwtVerify(token, keys, { issuer, algorithms: ALGORITHMS, clockTolerance: CLOCK_SKEW_SECONDS, requiredClaims: ['exp', 'sub'] }))
    } catch (error) {
      // A token the issuer's keys cannot be fetched for (network, timeout, a broken JWKS answer) is unchecked, not invalid.
      const unreachable = error instanceof errors.JWKSTimeout || error instanceof errors.JWKSInvalid || (error instanceof errors.JOSEError && error.code === 'ERR_JOSE_GENERIC')
      if (unreachable || !(error instanceof errors.JOSEError)) {
        throw new AuthUnavailableError(`The issuer's keys could not be fetched: ${(error as Error).name}`)
      }
      throw new UnauthorizedError(true, `Invalid token: ${error.code}`)
    }
    if (!hasAudience(payload, audiences)) throw new UnauthorizedError(true, 'Invalid token: not for this audience')
    // OpenID Connect keeps a subject within 255 ASCII characters; a longer one could not even key the owner index.
    if (typeof payload.sub !== 'string' || payload.sub === '' || Buffer.byteLength(payload.sub) > 255) throw new UnauthorizedError(true, 'Invalid token: no usable subject')
    return { sub: payload.sub, scopes: scopesOf(payload) }
  }
}
