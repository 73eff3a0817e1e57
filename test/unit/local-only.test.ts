import test from 'tape'
import { foreignRequestReason, fromOwnPage } from 'arc-plugin-sqs-queues/local-only'

/** The local-only guard's judgement, header by header (each server's own test sends these over HTTP). */
const judged = (headers: Record<string, string>) => foreignRequestReason({ headers })

test('Host: only loopback names are this server; names that merely resolve to loopback are not', (t) => {
  for (const host of ['127.0.0.1:9324', 'localhost:9324', '[::1]:9324', 'LOCALHOST:3334', 'localhost', '127.0.0.1:4000']) {
    t.equal(judged({ host }), undefined, `${host} is local`)
  }
  for (const host of ['attacker.example:9324', 'localhost.attacker.example:9324', '127.0.0.1.nip.io:9324', 'evil@localhost:9324', 'localhost:9324@evil', 'localhost.:9324', '0.0.0.0:9324', '127.0.0.2:9324', '']) {
    t.match(judged({ host }) ?? '', /^Host .* is not this local server's/, `${JSON.stringify(host)} is refused`)
  }
  t.match(foreignRequestReason({ headers: {} }) ?? '', /^Host "" is not/, 'no Host at all is refused (every browser and SDK sends one)')
  t.end()
})

test('Origin: only the server itself, as the Host names it', (t) => {
  const host = 'localhost:3334'
  t.equal(judged({ host, origin: 'http://localhost:3334' }), undefined, 'its own origin')
  t.equal(judged({ host, origin: 'HTTP://LOCALHOST:3334' }), undefined, 'in any case')
  for (const origin of ['http://evil.example', 'http://127.0.0.1:3334', 'http://localhost:3335', 'https://localhost:3334', 'null', '']) {
    t.match(judged({ host, origin }) ?? '', /^Cross-origin request refused: Origin/, `${JSON.stringify(origin)} is refused`)
  }
  t.end()
})

test('Sec-Fetch-Site: same-origin and none pass; another site, or another local port (same-site), does not', (t) => {
  const host = '127.0.0.1:9324'
  for (const site of ['same-origin', 'none']) t.equal(judged({ host, 'sec-fetch-site': site }), undefined, site)
  for (const site of ['cross-site', 'same-site', 'anything-else']) t.match(judged({ host, 'sec-fetch-site': site }) ?? '', /Sec-Fetch-Site/, `${site} is refused`)
  t.end()
})

test('a write from the own page needs positive evidence: its Origin or Sec-Fetch-Site same-origin', (t) => {
  const host = 'localhost:3334'
  t.ok(fromOwnPage({ headers: { host, origin: 'http://localhost:3334' } }), 'own Origin')
  t.ok(fromOwnPage({ headers: { host, 'sec-fetch-site': 'same-origin' } }), 'same-origin fetch metadata')
  t.notOk(fromOwnPage({ headers: { host } }), 'neither: refused (curl can send Origin when it means to)')
  t.notOk(fromOwnPage({ headers: { host, 'sec-fetch-site': 'none' } }), 'a typed address does not write')
  t.notOk(fromOwnPage({ headers: { host, origin: 'http://evil.example' } }), 'a foreign Origin')
  t.notOk(fromOwnPage({ headers: { host: 'attacker.example:3334', origin: 'http://attacker.example:3334' } }), 'a rebound name, whatever its Origin')
  t.end()
})
