/**
 * Where the app may send or fetch over the network: `https` anywhere, plain
 * `http` only to this machine (a local issuer, a local webhook receiver).
 * Code that runs on Lambda can ask for the stricter rule (`onLambda`): there
 * loopback is not "our own local server" but Lambda's runtime API and the
 * extensions, so no loopback host and no plain http at all.
 */
const LOOPBACK_HOSTS = new Set(['localhost', '[::1]', '::1'])

export function isLoopbackHost(hostname: string): boolean {
  return LOOPBACK_HOSTS.has(hostname) || /^127(\.\d{1,3}){3}$/.test(hostname)
}

/**
 * Every spelling of "this machine" a URL's host can have once WHATWG URL has
 * normalised it (`127.1` and `0x7f.1` become 127.0.0.1, `0` becomes 0.0.0.0),
 * with or without a final dot:
 * loopback, `*.localhost`, the unspecified addresses (a connection to them
 * reaches this machine on Linux) and IPv4-mapped loopback. Broader than
 * isLoopbackHost on purpose: this one refuses, that one allows.
 */
function reachesThisMachine(hostname: string): boolean {
  const host = hostname.replace(/\.$/, '')
  return isLoopbackHost(host) || host.endsWith('.localhost') || host === '0.0.0.0' || host === '[::]' || /^\[::ffff:7f[0-9a-f]{2}:[0-9a-f]{1,4}\]$/.test(host)
}

/**
 * Is this process a function on AWS Lambda? Lambda sets AWS_LAMBDA_FUNCTION_NAME
 * to the function's name, which it limits to letters, digits, `-` and `_`.
 * The Architect sandbox sets the variable too, in the processes that stand in
 * for functions locally (and so does this project's warm consumer runtime),
 * but to labels such as `@http get-tasks` or `@queues notifications`, which no
 * Lambda function can be named: there loopback is this developer's machine.
 */
export function runsOnLambda(env: NodeJS.ProcessEnv = process.env): boolean {
  return /^[A-Za-z0-9_-]+$/.test(env.AWS_LAMBDA_FUNCTION_NAME ?? '')
}

/**
 * Null when `url` may be used; else why not (the URL itself is never in the
 * reason: it may hold credentials). With `onLambda`, `https` to a host that is
 * not this machine only. A name that resolves to loopback is not looked up
 * here: `https` alone keeps a request from reaching the runtime API or an
 * extension, which speak plain http.
 */
export function insecureUrlReason(url: URL, where: { onLambda?: boolean } = {}): string | null {
  if (where.onLambda && reachesThisMachine(url.hostname)) return 'a loopback host is never used on Lambda, where its runtime API and extensions listen'
  if (url.protocol === 'https:') return null
  if (url.protocol === 'http:') {
    if (where.onLambda) return 'plain http is never used on Lambda: https only'
    return isLoopbackHost(url.hostname) ? null : 'plain http is allowed only to a loopback address'
  }
  return `the ${url.protocol.replace(/:$/, '')} scheme is not allowed`
}
