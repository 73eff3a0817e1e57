/**
 * Where the app may send or fetch over the network: `https` anywhere, plain
 * `http` only to this machine (a local issuer, a local webhook receiver). On
 * AWS nothing listens on loopback, so in effect that is `https` only there,
 * with no branch on where the code runs.
 */
const LOOPBACK_HOSTS = new Set(['localhost', '[::1]', '::1'])

export function isLoopbackHost(hostname: string): boolean {
  return LOOPBACK_HOSTS.has(hostname) || /^127(\.\d{1,3}){3}$/.test(hostname)
}

/** Null when `url` may be used; else why not (the URL itself is never in the reason: it may hold credentials). */
export function insecureUrlReason(url: URL): string | null {
  if (url.protocol === 'https:') return null
  if (url.protocol === 'http:') return isLoopbackHost(url.hostname) ? null : 'plain http is allowed only to a loopback address'
  return `the ${url.protocol.replace(/:$/, '')} scheme is not allowed`
}
