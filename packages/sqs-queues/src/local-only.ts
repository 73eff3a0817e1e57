import type { IncomingMessage, RequestListener, Server, ServerResponse } from 'node:http'

/**
 * The guard every local server of a project applies to each request before
 * routing it (the SQS endpoint, a local issuer, a dashboard, an email
 * stand-in...). Such a server listens on 127.0.0.1, which keeps other machines
 * out but not the web pages open in the developer's browser: a page can post
 * a form to any local port, and by DNS rebinding can even read the answers.
 *
 * So a request is refused when
 * - its `Host` is not a loopback name (127.0.0.1, localhost, [::1]): a
 *   rebound DNS name is the attacker's own. The port is not compared: the
 *   name is what a rebinding page cannot forge, and a TCP proxy or port
 *   forward in front of the server legitimately changes the port (as
 *   webpack-dev-server's and Vite's host checks also ignore it);
 * - it carries an `Origin` that is not the server's own, `http://` + its
 *   Host (a page served on another local port is another origin too);
 * - the browser says it comes from another site (`Sec-Fetch-Site:
 *   cross-site`) or from another origin of the same site (`same-site`: every
 *   port of localhost is one site, so that is another local server's page).
 * Clients that send no `Origin` and no `Sec-Fetch-*` (the AWS SDK, curl,
 * Node's http) pass, as do a page's requests to its own server.
 */
const LOOPBACK_HOST = /^(?:127\.0\.0\.1|localhost|\[::1\])(?::\d{1,5})?$/
/** `none`: the user typed the address or followed a bookmark. */
const OWN_FETCH_SITES = new Set(['same-origin', 'none'])

const single = (value: string | string[] | undefined): string | undefined => (Array.isArray(value) ? value.join(', ') : value)

/** Why the request may not reach a local server, or undefined when it may. */
export function foreignRequestReason(request: Pick<IncomingMessage, 'headers'>): string | undefined {
  const host = request.headers.host?.toLowerCase()
  if (host === undefined || !LOOPBACK_HOST.test(host)) {
    return `Host ${JSON.stringify(host ?? '')} is not this local server's: address it as 127.0.0.1 or localhost`
  }
  const origin = single(request.headers.origin)
  if (origin !== undefined && origin.toLowerCase() !== `http://${host}`) return `Cross-origin request refused: Origin ${origin} is not http://${host}`
  const site = single(request.headers['sec-fetch-site'])
  if (site !== undefined && !OWN_FETCH_SITES.has(site)) return `Cross-origin request refused: Sec-Fetch-Site ${site}`
  return undefined
}

/**
 * Positive evidence that a browser request comes from the server's own page:
 * its Origin is the server's, or the browser says `Sec-Fetch-Site:
 * same-origin`. For writes that only that page may make (a dashboard's
 * buttons): a client that sends neither is refused too.
 */
export function fromOwnPage(request: Pick<IncomingMessage, 'headers'>): boolean {
  if (foreignRequestReason(request) !== undefined) return false
  return request.headers.origin !== undefined || single(request.headers['sec-fetch-site']) === 'same-origin'
}

/**
 * Answers a foreign request with a plain-text 403 and returns true; returns
 * false, having written nothing, when the request may proceed.
 */
export function refuseForeign(request: IncomingMessage, response: ServerResponse): boolean {
  const reason = foreignRequestReason(request)
  if (reason === undefined) return false
  request.resume()
  response.writeHead(403, { 'Content-Type': 'text/plain; charset=utf-8', 'X-Content-Type-Options': 'nosniff' }).end(`Forbidden: ${reason}\n`)
  return true
}

/**
 * Puts the guard in front of a server whose handler someone else wrote (a
 * third-party stand-in that returns its listening Server): the request
 * listeners it registered run only for requests the guard lets through.
 */
export function guardServer(server: Server): Server {
  const handlers = server.listeners('request') as RequestListener[]
  server.removeAllListeners('request')
  server.on('request', (request: IncomingMessage, response: ServerResponse) => {
    if (refuseForeign(request, response)) return
    for (const handler of handlers) handler.call(server, request, response)
  })
  return server
}
