import { request as httpRequest, type IncomingHttpHeaders } from 'node:http'
import type { Test } from 'tape'

/**
 * The requests that every local server of the project must refuse (SPEC
 * "Operations"): what a web page open in the developer's browser can make it
 * receive, directly or through a rebound DNS name. Sent with node:http, since
 * fetch sets Host and Sec-Fetch-* itself.
 */
export interface RawRequest {
  method?: string
  path?: string
  headers?: Record<string, string>
  body?: string
}

export interface RawAnswer {
  status: number
  headers: IncomingHttpHeaders
  body: string
}

/** One request to `origin` (http://127.0.0.1:<port>) with exactly the headers given (Host too, if given). */
export function rawRequest(origin: string, { method = 'GET', path = '/', headers = {}, body }: RawRequest): Promise<RawAnswer> {
  const { hostname, port } = new URL(origin)
  return new Promise((resolve, reject) => {
    const outgoing = httpRequest({ host: hostname, port, method, path, headers }, (answer) => {
      const chunks: Buffer[] = []
      answer.on('data', (chunk: Buffer) => chunks.push(chunk))
      answer.on('end', () => resolve({ status: answer.statusCode ?? 0, headers: answer.headers, body: Buffer.concat(chunks).toString('utf8') }))
      answer.on('error', reject)
    })
    outgoing.on('error', reject)
    outgoing.end(body)
  })
}

/** What a page of another site, another local server, or a rebound DNS name adds to a request: each is refused. */
export function foreignHeaders(origin: string): [string, Record<string, string>][] {
  const { port } = new URL(origin)
  const otherLocalPort = Number(port) === 65_535 ? 1 : Number(port) + 1
  return [
    ['a rebound DNS name (forged Host)', { host: `attacker.example:${port}` }],
    ['a page of another site (Origin http://evil.example)', { origin: 'http://evil.example' }],
    ['a page of another local server (Origin of another port)', { origin: `http://127.0.0.1:${otherLocalPort}` }],
    ['a sandboxed page or file (Origin null)', { origin: 'null' }],
    ['a browser request from another site (Sec-Fetch-Site: cross-site)', { 'sec-fetch-site': 'cross-site' }],
    ['a browser request from another local server (Sec-Fetch-Site: same-site)', { 'sec-fetch-site': 'same-site' }],
  ]
}

/**
 * Sends `request` as each foreign page would (every one must get a 403) and
 * as an SDK, curl and the server's own page would (each must get `allowed`).
 */
export async function checkLocalOnly(t: Test, server: string, origin: string, request: RawRequest, allowed: (answer: RawAnswer) => boolean): Promise<void> {
  for (const [label, headers] of foreignHeaders(origin)) {
    const answer = await rawRequest(origin, { ...request, headers: { ...request.headers, ...headers } })
    t.equal(answer.status, 403, `${server}: ${label} is refused with 403`)
  }
  const { port } = new URL(origin)
  const own: [string, Record<string, string>][] = [
    ['a client that sends no Origin (an SDK, curl)', {}],
    ['the same addressed as localhost', { host: `localhost:${port}` }],
    ['its own page', { origin, 'sec-fetch-site': 'same-origin' }],
  ]
  for (const [label, headers] of own) {
    const answer = await rawRequest(origin, { ...request, headers: { ...request.headers, ...headers } })
    t.ok(allowed(answer), `${server}: ${label} is answered (${answer.status})`)
  }
}
