/**
 * Who may call the Task API, in the domain's terms: a caller is the `sub` of a
 * verified token and the scopes it was granted; each kind of route needs one
 * scope. Token formats and their verification live in an adapter.
 */
export interface Caller {
  /** The token's subject: the owner of the tasks this caller creates. */
  sub: string
  scopes: ReadonlySet<string>
}

/** Reading routes need the read scope, the others the write scope. */
export type Access = 'read' | 'write'

/** No usable credentials: `tokenGiven` tells a missing token from a bad one (RFC 6750's `invalid_token`). */
export class UnauthorizedError extends Error {
  override readonly name = 'UnauthorizedError'
  readonly tokenGiven: boolean

  constructor(tokenGiven: boolean, reason: string) {
    super(reason)
    this.tokenGiven = tokenGiven
  }
}

/** A valid token without the scope the route needs. */
export class ForbiddenError extends Error {
  override readonly name = 'ForbiddenError'
  readonly scope: string

  constructor(scope: string) {
    super(`The token lacks the scope ${scope}`)
    this.scope = scope
  }
}

/** The token cannot be checked right now (the issuer's keys are out of reach): not the caller's fault. */
export class AuthUnavailableError extends Error {
  override readonly name = 'AuthUnavailableError'
}

/** Checks a bearer token; throws UnauthorizedError for anything but a valid one, AuthUnavailableError when it cannot tell. */
export interface TokenVerifier {
  verify(token: string): Promise<Caller>
}

/** `scope` or `scp`, each a space-separated string or an array (issuers differ). */
export function scopesOf(claims: Record<string, unknown>): Set<string> {
  const scopes = new Set<string>()
  for (const claim of [claims.scope, claims.scp]) {
    const values = typeof claim === 'string' ? claim.split(' ') : Array.isArray(claim) ? claim : []
    for (const value of values) if (typeof value === 'string' && value) scopes.add(value)
  }
  return scopes
}

/** The caller may use the route when it holds the route's scope, or when none is configured. */
export function authorize(caller: Caller, access: Access, scopes: { read: string; write: string }): void {
  const needed = scopes[access]
  if (needed && !caller.scopes.has(needed)) throw new ForbiddenError(needed)
}

/**
 * `Authorization: Bearer <token>`: the token; undefined when the request has no
 * bearer credentials at all (no header, or another scheme such as Basic: RFC
 * 6750 then wants a plain challenge); '' when it names the Bearer scheme but
 * what follows is no token.
 */
export function bearerToken(header: string | undefined): string | undefined {
  const value = header?.trim() ?? ''
  if (!/^bearer(\s|$)/i.test(value)) return undefined
  return /^Bearer +([A-Za-z0-9\-._~+/]+=*)$/i.exec(value)?.[1] ?? ''
}
