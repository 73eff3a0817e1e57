import { dirname, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { DEFAULT_SCOPE, localIssuerDir, localIssuerPort, localIssuerUrl, mintToken } from '../src/plugins/queue-leveling/local-issuer.ts'

/**
 * `npm run token -- [--sub alice] [--scope "tasks:read tasks:write"] [--ttl 3600]`:
 * prints a bearer token of the local issuer that `npm start` runs when no
 * AUTH_ISSUER is configured (its key pair under .tmp/local-issuer/, its port
 * LOCAL_ISSUER_PORT, default 3335).
 */
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..')

const { values } = parseArgs({
  options: {
    sub: { type: 'string', default: 'local-user' },
    scope: { type: 'string', default: DEFAULT_SCOPE },
    ttl: { type: 'string', default: '3600' },
    help: { type: 'boolean', default: false },
  },
})
if (values.help) {
  console.log('npm run token -- [--sub <subject>] [--scope "<scopes>"] [--ttl <seconds>]')
  process.exit(0)
}
const ttlSeconds = Number(values.ttl)
if (!Number.isInteger(ttlSeconds) || ttlSeconds < 1) {
  console.error(`--ttl must be a whole number of seconds, got ${values.ttl}`)
  process.exit(1)
}
if (!values.sub.trim()) {
  console.error('--sub must not be empty')
  process.exit(1)
}
console.log(await mintToken({ dir: localIssuerDir(ROOT), issuer: localIssuerUrl(localIssuerPort()), sub: values.sub, scope: values.scope, ttlSeconds }))
