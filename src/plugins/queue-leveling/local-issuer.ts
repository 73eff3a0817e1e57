import { mkdir, readFile, rename, writeFile } from 'node:fs/promises'
import { createServer, type Server } from 'node:http'
import { join } from 'node:path'
import { calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK, SignJWT, type JWK } from 'jose'
import { refuseForeign } from 'arc-plugin-sqs-queues/local-only'

/**
 * A local OpenID Connect issuer, so a local run needs no account anywhere: it
 * serves discovery and its JWKS on loopback, and mints RS256 tokens with the
 * key pair kept under `.tmp/local-issuer/` (tokens survive a restart). The app
 * verifies them exactly as it verifies any issuer's: there is no local branch.
 */
export const LOCAL_AUDIENCE = 'queue-leveling-local'
export const LOCAL_ISSUER_DEFAULT_PORT = 3335
export const DEFAULT_SCOPE = 'tasks:read tasks:write'

export function localIssuerPort(env: NodeJS.ProcessEnv = process.env): number {
  const port = Number(env.LOCAL_ISSUER_PORT || LOCAL_ISSUER_DEFAULT_PORT)
  if (!Number.isInteger(port) || port < 1 || port > 65_535) throw new Error(`LOCAL_ISSUER_PORT must be a port number, got ${env.LOCAL_ISSUER_PORT}`)
  return port
}

export const localIssuerUrl = (port: number): string => `http://127.0.0.1:${port}`

const JWKS_PATH = '/.well-known/jwks.json'

/**
 * What a local run's Lambdas get to trust the local issuer. The JWKS URL is
 * given, not discovered: locally every request is a new process, and this
 * spares each one a round trip (the tests' other issuers are discovered).
 */
export function localIssuerSettings(port: number): { AUTH_ISSUER: string; AUTH_AUDIENCE: string; AUTH_JWKS_URL: string } {
  return { AUTH_ISSUER: localIssuerUrl(port), AUTH_AUDIENCE: LOCAL_AUDIENCE, AUTH_JWKS_URL: `${localIssuerUrl(port)}${JWKS_PATH}` }
}

export interface StoredKey {
  kid: string
  privateJwk: JWK
  publicJwk: JWK
}

/** The issuer's key pair, made on first use and kept in `<dir>/key.json`. */
export async function signingKey(dir: string): Promise<StoredKey> {
  const file = join(dir, 'key.json')
  try {
    return JSON.parse(await readFile(file, 'utf8')) as StoredKey
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error
  }
  const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true })
  const publicJwk = await exportJWK(publicKey)
  const kid = await calculateJwkThumbprint(publicJwk)
  const key: StoredKey = { kid, privateJwk: { ...(await exportJWK(privateKey)), kid, alg: 'RS256' }, publicJwk: { ...publicJwk, kid, alg: 'RS256', use: 'sig' } }
  await mkdir(dir, { recursive: true })
  // Written whole, then renamed: a token minted at the same moment never reads half a key.
  const partial = `${file}.${process.pid}.tmp`
  await writeFile(partial, JSON.stringify(key), { mode: 0o600 })
  await rename(partial, file)
  return key
}

export const localIssuerDir = (projectDir: string): string => join(projectDir, '.tmp', 'local-issuer')

export interface MintOptions {
  /** Where the key pair lives (`localIssuerDir(project)`). */
  dir: string
  issuer: string
  audience?: string
  sub: string
  scope?: string
  ttlSeconds?: number
}

/** A signed access token of this issuer. */
export async function mintToken(options: MintOptions): Promise<string> {
  const key = await signingKey(options.dir)
  return new SignJWT({ scope: options.scope ?? DEFAULT_SCOPE })
    .setProtectedHeader({ alg: 'RS256', kid: key.kid, typ: 'JWT' })
    .setIssuer(options.issuer)
    .setAudience(options.audience ?? LOCAL_AUDIENCE)
    .setSubject(options.sub)
    .setIssuedAt()
    .setExpirationTime(`${options.ttlSeconds ?? 3600}s`)
    .sign(await importJWK(key.privateJwk, 'RS256'))
}

/**
 * Serves `/.well-known/openid-configuration` and the JWKS on 127.0.0.1 only,
 * to local clients only (local-only.ts): a web page cannot read them through
 * a rebound DNS name.
 */
export async function startLocalIssuer(options: { dir: string; port: number }): Promise<Server> {
  const key = await signingKey(options.dir)
  const issuer = localIssuerUrl(options.port)
  const documents: Record<string, unknown> = {
    '/.well-known/openid-configuration': { issuer, jwks_uri: `${issuer}${JWKS_PATH}`, id_token_signing_alg_values_supported: ['RS256'] },
    [JWKS_PATH]: { keys: [key.publicJwk] },
  }
  const server = createServer((request, response) => {
    if (refuseForeign(request, response)) return
    const document = request.method === 'GET' ? documents[new URL(request.url ?? '/', issuer).pathname] : undefined
    response.writeHead(document ? 200 : 404, { 'Content-Type': 'application/json' }).end(JSON.stringify(document ?? { message: 'Not Found' }))
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(options.port, '127.0.0.1', () => resolve())
  })
  return server
}
