import { rm } from 'node:fs/promises'
import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { SendEmailCommand, SESv2Client } from '@aws-sdk/client-sesv2'
import test from 'tape'
import { startLocalEmail, type LocalEmail } from '../scripts/lib/local-email.ts'
import { startLocalIssuer } from '../src/plugins/queue-leveling/local-issuer.ts'
import { checkLocalOnly, rawRequest } from './helpers/local-only-probes.ts'
import { ROOT, WebhookReceiver } from '../scripts/lib/harness/index.ts'

/**
 * The local-only guard (SPEC "Operations") on the local servers that are not
 * the SQS endpoint (test/unit/local-sqs.test.ts) or the dashboard
 * (test/dashboard-server.test.ts): the local issuer, the email stand-in of
 * `npm run email` and the downstream of `npm run downstream`. Each on a free
 * port, no sandbox.
 */
const ISSUER_DIR = join(ROOT, '.tmp', 'local-servers-issuer')
let issuer: Server
let email: LocalEmail
const downstream = new WebhookReceiver()
let downstreamUrl: string

test.onFinish(() => {
  for (const server of [issuer, email?.server]) {
    server?.closeAllConnections()
    server?.close()
  }
  void downstream.close()
})

const originOf = (server: Server): string => `http://127.0.0.1:${(server.address() as AddressInfo).port}`

test('start the issuer, the email stand-in and the downstream, each on loopback only', async (t) => {
  await rm(ISSUER_DIR, { recursive: true, force: true })
  issuer = await startLocalIssuer({ dir: ISSUER_DIR, port: 0 })
  email = await startLocalEmail(0)
  downstreamUrl = await downstream.listen()
  for (const [name, server] of [['issuer', issuer], ['email stand-in', email.server]] as const) {
    t.equal((server.address() as AddressInfo).address, '127.0.0.1', `the ${name} listens on 127.0.0.1`)
  }
  t.match(downstreamUrl, /^http:\/\/127\.0\.0\.1:\d+\/hook$/, 'the downstream on 127.0.0.1')
})

test('the local issuer serves its keys to local clients only', async (t) => {
  await checkLocalOnly(t, 'issuer', originOf(issuer), { path: '/.well-known/jwks.json' }, (answer) => answer.status === 200 && answer.body.includes('"keys"'))
})

test('the email stand-in: a web page can neither read the inbox nor send; the SDK can', async (t) => {
  // The inbox (GET /store) is what a rebound page would read.
  await checkLocalOnly(t, 'email stand-in', email.url, { path: '/store' }, (answer) => answer.status === 200 && answer.body.includes('"emails"'))
  const form = new URLSearchParams({ Action: 'SendEmail', Source: 'forged@example.com', 'Destination.ToAddresses.member.1': 'victim@example.com', 'Message.Subject.Data': 'Forged', 'Message.Body.Text.Data': 'forged' })
  const forged = await rawRequest(email.url, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: 'AWS4-HMAC-SHA256 forged', origin: 'http://evil.example', 'sec-fetch-site': 'cross-site' },
    body: form.toString(),
  })
  t.equal(forged.status, 403, 'a cross-site form post of SendEmail is refused')
  const ses = new SESv2Client({ endpoint: email.url, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } })
  const sent = await ses.send(
    new SendEmailCommand({
      FromEmailAddress: 'app@example.com',
      Destination: { ToAddresses: ['ops@example.com'] },
      Content: { Simple: { Subject: { Data: 'Hello' }, Body: { Text: { Data: 'from the SDK' } } } },
    }),
  )
  ses.destroy()
  t.ok(sent.MessageId, 'the SDK sends')
  const inbox = JSON.parse((await rawRequest(email.url, { path: '/store' })).body) as { emails: { subject?: string }[] }
  t.deepEqual(inbox.emails.map((stored) => stored.subject), ['Hello'], 'the inbox holds the SDK email only')
})

test('the downstream of npm run downstream takes calls from local clients only', async (t) => {
  const { pathname } = new URL(downstreamUrl)
  const call = { method: 'POST', path: pathname, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ id: 'probe', event: 'task_created', taskId: 't', version: 1 }) }
  await checkLocalOnly(t, 'downstream', new URL(downstreamUrl).origin, call, (answer) => answer.status === 200)
  t.equal(downstream.calls.length, 3, 'only the three allowed calls were recorded')
})
