import test from 'tape'
import { insecureUrlReason } from '../../src/lib/secure-url.ts'

/**
 * Which URLs the app may fetch from or send to: `https`, or plain `http` to
 * loopback in a local run; on Lambda, where loopback is the runtime API and
 * the extensions, `https` off this machine only, however the host is spelled.
 */
test('locally: https anywhere, plain http to loopback only', async (t) => {
  for (const [url, allowed] of [
    ['https://issuer.example/keys', true],
    ['http://127.0.0.1:3335/keys', true],
    ['http://localhost:3335/keys', true],
    ['http://[::1]:3335/keys', true],
    ['http://issuer.example/keys', false],
    ['ftp://issuer.example/keys', false],
  ] as const) t.equal(insecureUrlReason(new URL(url)) === null, allowed, `${url}: ${allowed ? 'allowed' : 'refused'}`)
})

test('on Lambda: https only, and never to this machine, however it is spelled', async (t) => {
  t.equal(insecureUrlReason(new URL('https://issuer.example/keys'), { onLambda: true }), null, 'https elsewhere: allowed')
  t.equal(insecureUrlReason(new URL('http://issuer.example/keys'), { onLambda: true }), 'plain http is never used on Lambda: https only')
  for (const url of [
    'http://127.0.0.1:9001/2018-06-01/runtime/invocation/next',
    'https://127.0.0.1/keys',
    'https://127.1/keys',
    'https://0x7f.0.0.1/keys',
    'https://localhost/keys',
    'https://LOCALHOST./keys',
    'https://keys.localhost/keys',
    'https://[::1]/keys',
    'https://[0:0:0:0:0:0:0:1]/keys',
    'https://[::ffff:127.0.0.1]/keys',
    'https://0.0.0.0/keys',
    'https://0/keys',
    'https://[::]/keys',
  ]) t.equal(insecureUrlReason(new URL(url), { onLambda: true }), 'a loopback host is never used on Lambda, where its runtime API and extensions listen', `${url}: refused`)
})
