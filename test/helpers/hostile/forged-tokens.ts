import { exportSPKI, generateKeyPair, importJWK, SignJWT, type CryptoKey, type JWTHeaderParameters } from 'jose'
import { LOCAL_AUDIENCE, localIssuerDir, localIssuerUrl, signingKey } from '../../../src/plugins/queue-leveling/local-issuer.ts'
import type { SandboxApp } from '../../../scripts/lib/harness/index.ts'
import { b64 } from './arbitraries.ts'
/**
 * Tokens that look right and are not: `alg: none`, HMAC keyed with the
 * issuer's public key, a valid token's payload changed, signatures swapped or
 * cut, the issuer's own key with a claim wrong (expired, not yet valid, other
 * issuer or audience, no subject), unknown keys. Each carries both scopes, so
 * one the app wrongly took would be a 2xx, never a 403.
 */
export async function forgedTokens(app: Pick<SandboxApp, 'cwd' | 'ports'>, valid: string, other: string): Promise<Array<{ what: string; token: string }>> {
  const key = await signingKey(localIssuerDir(app.cwd))
  const issuerKey = await importJWK(key.privateJwk, 'RS256')
  const stranger = await generateKeyPair('RS256')
  const ecKey = await generateKeyPair('ES256')
  const publicPem = await exportSPKI((await importJWK(key.publicJwk, 'RS256')) as CryptoKey)
  const now = Math.floor(Date.now() / 1000)
  const [head = '', body = '', signature = ''] = valid.split('.')
  const payload = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as Record<string, unknown>
  const claims = { iss: localIssuerUrl(app.ports.LOCAL_ISSUER_PORT), aud: LOCAL_AUDIENCE, sub: payload.sub, scope: 'tasks:read tasks:write', iat: now, exp: now + 3600 }
  const signed = (what: string, changes: Record<string, unknown>, header: JWTHeaderParameters, signingKey: CryptoKey | Uint8Array = issuerKey) => async () => {
    const withChanges = Object.fromEntries(Object.entries({ ...claims, ...changes }).filter(([, value]) => value !== undefined))
    const crit = Object.fromEntries((header.crit ?? []).map((name) => [name, true]))
    return { what, token: await new SignJWT(withChanges).setProtectedHeader(header).sign(signingKey, { crit }) }
  }
  const rs256 = { alg: 'RS256', kid: key.kid, typ: 'JWT' }
  const flipped = `${signature.slice(0, 10)}${signature[10] === 'A' ? 'B' : 'A'}${signature.slice(11)}`
  const makers = [
    async () => ({ what: 'alg none, no signature', token: `${b64({ alg: 'none', typ: 'JWT' })}.${b64(claims)}.` }),
    async () => ({ what: 'alg none, the real signature kept', token: `${b64({ alg: 'none', kid: key.kid })}.${body}.${signature}` }),
    async () => ({ what: 'alg None, no signature', token: `${b64({ alg: 'None' })}.${body}.` }),
    signed('HS256 keyed with the issuer public key (PEM)', {}, { alg: 'HS256', kid: key.kid }, new TextEncoder().encode(publicPem)),
    signed('HS256 keyed with the issuer public key (JWK)', {}, { alg: 'HS256', kid: key.kid }, new TextEncoder().encode(JSON.stringify(key.publicJwk))),
    async () => ({ what: 'payload changed: another sub', token: `${head}.${b64({ ...payload, sub: 'someone-else' })}.${signature}` }),
    async () => ({ what: 'payload changed: a year more', token: `${head}.${b64({ ...payload, exp: now + 365 * 86_400 })}.${signature}` }),
    async () => ({ what: 'payload changed: one more scope', token: `${head}.${b64({ ...payload, scope: 'tasks:read tasks:write admin' })}.${signature}` }),
    async () => ({ what: 'payload re-encoded with padding', token: `${head}.${Buffer.from(JSON.stringify(payload)).toString('base64')}.${signature}` }),
    async () => ({ what: 'signature changed in one character', token: `${head}.${body}.${flipped}` }),
    async () => ({ what: "another token's signature", token: `${head}.${body}.${other.split('.')[2] ?? ''}` }),
    async () => ({ what: 'no signature', token: `${head}.${body}.` }),
    async () => ({ what: 'one character more', token: `${valid}A` }),
    async () => ({ what: 'one character less', token: valid.slice(0, -1) }),
    async () => ({ what: 'a fourth part', token: `${valid}.${signature}` }),
    signed('expired 10 minutes ago', { iat: now - 4200, exp: now - 600 }, rs256),
    signed('not valid for another 10 minutes', { nbf: now + 600 }, rs256),
    signed('another issuer', { iss: 'http://127.0.0.1:1' }, rs256),
    signed('the issuer with a trailing slash', { iss: `${claims.iss}/` }, rs256),
    signed('another audience', { aud: 'someone-else' }, rs256),
    signed('no expiry', { exp: undefined }, rs256),
    signed('no subject', { sub: undefined }, rs256),
    signed('an empty subject', { sub: '' }, rs256),
    signed('an unknown key under the issuer key id', {}, rs256, stranger.privateKey),
    signed('an unknown key with a jku to it', {}, { alg: 'RS256', kid: 'stranger', jku: 'http://127.0.0.1:1/jwks.json' }, stranger.privateKey),
    signed('ES256, an algorithm the app does not take', {}, { alg: 'ES256', kid: key.kid }, ecKey.privateKey),
    signed('a critical header the app does not know', {}, { ...rs256, crit: ['x-must-understand'], 'x-must-understand': true }),
  ]
  return Promise.all(makers.map((make) => make()))
}
