import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK, type JWTPayload } from 'jose'
import { localServer, type LocalServer } from './local-server.ts'

/** An RS256 signing key of a test issuer and its public JWK. */
export interface TestKey {
  kid: string
  privateKey: CryptoKey
  publicJwk: JWK
}

export async function newTestKey(kid: string): Promise<TestKey> {
  const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true })
  return { kid, privateKey, publicJwk: { ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' } }
}

/** A JWT signed by `key` with exactly these claims (add `iss`, `aud`, `exp`... yourself). */
export function signedToken(key: TestKey, claims: JWTPayload): Promise<string> {
  return new SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid: key.kid }).sign(key.privateKey)
}

/**
 * How the key set is answered: the keys; a status or a body of the test's
 * choosing; a redirect (to discovery); `cut-off`, a 200 whose body stops after
 * `{"keys":[` when the connection is destroyed; `silent`, nothing at all.
 */
export type JwksAnswer = 'keys' | 'cut-off' | 'silent' | 'redirect' | { status: number } | { body: string }

export interface TestIssuer {
  /** `http://127.0.0.1:<port>`, the issuer as its tokens and discovery name it. */
  url: string
  server: LocalServer
  /** What it serves; tests change it between calls. */
  keys: JWK[]
  jwks: JwksAnswer
  /** The `issuer` its discovery document names, when not its own URL. */
  namedIssuer: string | undefined
  /** Paths asked for since the last reset. */
  paths(): string[]
  /** Serves `keys` well again and forgets the requests. */
  reset(keys: JWK[]): void
}

/**
 * An OpenID Connect issuer on 127.0.0.1 (a LocalServer): discovery at
 * `/.well-known/openid-configuration` pointing at `/keys`, and each way a real
 * issuer misbehaves on demand.
 */
export async function startTestIssuer(keys: JWK[]): Promise<TestIssuer> {
  const server = await localServer((request, response) => {
    if (request.url === '/.well-known/openid-configuration') {
      response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ issuer: issuer.namedIssuer ?? issuer.url, jwks_uri: `${issuer.url}/keys` }))
      return
    }
    const answer = issuer.jwks
    if (answer === 'silent') return
    if (answer === 'redirect') {
      response.writeHead(302, { location: `${issuer.url}/.well-known/openid-configuration` }).end()
      return
    }
    if (answer === 'cut-off') {
      response.writeHead(200, { 'content-type': 'application/json' })
      response.write('{"keys":[', () => response.socket?.destroy())
      return
    }
    response.writeHead(typeof answer === 'object' && 'status' in answer ? answer.status : 200, { 'content-type': 'application/json' })
    response.end(typeof answer === 'object' && 'body' in answer ? answer.body : JSON.stringify({ keys: issuer.keys }))
  })
  const issuer: TestIssuer = {
    url: server.origin,
    server,
    keys,
    jwks: 'keys',
    namedIssuer: undefined,
    paths: () => server.requests.map((request) => request.url),
    reset(served) {
      server.requests.length = 0
      Object.assign(issuer, { keys: served, jwks: 'keys', namedIssuer: undefined })
    },
  }
  return issuer
}
