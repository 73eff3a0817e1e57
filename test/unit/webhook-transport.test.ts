import type { ServerResponse } from 'node:http'
import test from 'tape'
import { fixedSigningSecret, WebhookChannel } from '../../src/lib/adapters/webhook-channel.ts'
import { DeliveryFailedError } from '../../src/lib/notifications/channel.ts'
import type { Notification } from '../../src/lib/notifications/notification.ts'
import { localServer, type LocalServer } from '../helpers/local-server.ts'

/**
 * The webhook's transport against real local HTTP servers: redirects are not
 * followed, at most a small part of an answer's body is read, credentials in
 * the URL are sent as Basic authorization and appear in no error message,
 * plain http leaves only for loopback.
 */
const notification: Notification = {
  id: 'task_updated:t-2:3',
  event: 'task_updated',
  taskId: 't-2',
  version: 3,
  subject: 'Task updated: Water the plants',
  text: 'Task updated: Water the plants\nStatus: open',
  occurredAt: '2030-01-02T03:04:05.000Z',
  task: { id: 't-2', title: 'Water the plants', isComplete: false, version: 3, createdAt: '2030-01-01T00:00:00.000Z', updatedAt: '2030-01-02T03:04:05.000Z' },
}

const channel = (url: string, timeoutMs = 2000): WebhookChannel => new WebhookChannel({ url, secret: 'transport-secret', secretParameter: undefined, timeoutMs }, fixedSigningSecret('transport-secret'))

async function outcomeOf(delivery: Promise<void>): Promise<{ error: DeliveryFailedError | undefined; ms: number }> {
  const started = performance.now()
  try {
    await delivery
    return { error: undefined, ms: performance.now() - started }
  } catch (error) {
    if (!(error instanceof DeliveryFailedError)) throw error
    return { error, ms: performance.now() - started }
  }
}

/** A body the server writes for as long as the connection stays open; `written` counts its bytes, `closed` tells the connection went. */
function endless(response: ServerResponse, status: number, counter: { written: number; closed?: boolean }, chunk = Buffer.alloc(64 * 1024, 'x')): void {
  response.writeHead(status, { 'Content-Type': 'application/octet-stream' })
  const pump = (): void => {
    while (!response.destroyed) {
      counter.written += chunk.length
      if (!response.write(chunk)) {
        response.once('drain', pump)
        return
      }
    }
  }
  response.on('close', () => {
    counter.closed = true
    response.removeListener('drain', pump)
  })
  pump()
}

test('a 301, 302, 303, 307 or 308 is not followed: the other server gets nothing, and no retry changes it', async (t) => {
  const elsewhere = await localServer((_request, response) => response.writeHead(200).end('{}'))
  const redirecting = await localServer((request, response) => response.writeHead(Number(request.url.slice(1)), { Location: `${elsewhere.origin}/stolen` }).end('moved'))
  try {
    for (const status of [301, 302, 303, 307, 308]) {
      const { error } = await outcomeOf(channel(`${redirecting.origin}/${status}`).deliver(notification))
      t.ok(error, `${status}: not delivered`)
      t.equal(error?.retryable, false, `${status}: not retryable`)
      t.match(error?.message ?? '', new RegExp(`answered ${status}, a redirect \\(not followed\\)`), `${status}: says so`)
    }
    t.equal(redirecting.requests.length, 5, 'each POST reached the configured server once')
    t.equal(elsewhere.requests.length, 0, 'the Location was never requested')
  } finally {
    await Promise.all([elsewhere.close(), redirecting.close()])
  }
})

test('a 2xx with an endless body is delivered at once; the body is not read beyond a few KiB', async (t) => {
  const counter: { written: number; closed?: boolean } = { written: 0 }
  const server = await localServer((_request, response) => endless(response, 200, counter))
  try {
    const { error, ms } = await outcomeOf(channel(`${server.origin}/hook`).deliver(notification))
    t.equal(error, undefined, 'delivered')
    t.ok(ms < 1500, `in ${ms.toFixed(0)} ms, not held by the body`)
    await new Promise((resolve) => setTimeout(resolve, 200))
    t.ok(counter.closed, `the channel closed the connection; the server had written ${(counter.written / 1024).toFixed(0)} KiB (into socket buffers)`)
  } finally {
    await server.close()
  }
})

test('a 2xx announcing a huge body, and one that trickles, are delivered without waiting for the body', async (t) => {
  const server = await localServer((request, response) => {
    if (request.url === '/huge') {
      response.writeHead(200, { 'Content-Length': String(10 * 1024 ** 3) })
      response.write(Buffer.alloc(8192, 'y'))
      return
    }
    // A byte every 100 ms, for ever.
    response.writeHead(202, { 'Content-Type': 'text/plain' })
    const timer = setInterval(() => response.write('.'), 100)
    response.on('close', () => clearInterval(timer))
  })
  try {
    for (const path of ['/huge', '/trickle']) {
      const { error, ms } = await outcomeOf(channel(`${server.origin}${path}`, 5000).deliver(notification))
      t.equal(error, undefined, `${path}: delivered`)
      t.ok(ms < 2000, `${path}: in ${ms.toFixed(0)} ms, well within the 5 s timeout`)
    }
  } finally {
    await server.close()
  }
})

test('a 5xx with an endless body is a quick retryable failure', async (t) => {
  const server = await localServer((_request, response) => endless(response, 503, { written: 0 }))
  try {
    const { error, ms } = await outcomeOf(channel(`${server.origin}/hook`).deliver(notification))
    t.equal(error?.retryable, true, 'retryable')
    t.equal(error?.message, 'Webhook answered 503')
    t.ok(ms < 1500, `in ${ms.toFixed(0)} ms`)
  } finally {
    await server.close()
  }
})

test('credentials in the URL go as Basic authorization and appear in no failure message', async (t) => {
  const USER = 'hook-user'
  const PASSWORD = 'p@ss:w0rd'
  const PATH_TOKEN = 'T0KEN-in-the-path'
  let behaviour: 'ok' | 'fail' | 'redirect' | 'hang' = 'ok'
  const server = await localServer((_request, response) => {
    if (behaviour === 'ok') response.writeHead(200).end()
    else if (behaviour === 'fail') response.writeHead(500).end('boom')
    else if (behaviour === 'redirect') response.writeHead(302, { Location: '/elsewhere' }).end()
    // 'hang': no answer; the timeout ends it.
  })
  const secretUrl = (origin: string) => `http://${USER}:${encodeURIComponent(PASSWORD)}@${origin.replace('http://', '')}/services/${PATH_TOKEN}?key=${PATH_TOKEN}`
  try {
    await channel(secretUrl(server.origin)).deliver(notification)
    const received = server.requests[0]
    t.equal(received?.headers.authorization, `Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString('base64')}`, 'the credentials arrive as Basic authorization')
    t.equal(received?.url, `/services/${PATH_TOKEN}?key=${PATH_TOKEN}`, 'path and query as configured')

    const messages: string[] = []
    for (const mode of ['fail', 'redirect', 'hang'] as const) {
      behaviour = mode
      const { error } = await outcomeOf(channel(secretUrl(server.origin), 300).deliver(notification))
      t.ok(error, `${mode}: a failure`)
      messages.push(`${error?.message} ${error?.stack} ${String(error?.cause)}`)
    }
    const closed = await localServer(() => undefined)
    await closed.close()
    const refused = await outcomeOf(channel(secretUrl(closed.origin)).deliver(notification))
    t.equal(refused.error?.retryable, true, 'a connection refused is retryable')
    t.match(refused.error?.message ?? '', /^Webhook not reached \(ECONNREFUSED\)$/, 'named by its code')
    messages.push(`${refused.error?.message} ${refused.error?.stack} ${String(refused.error?.cause)}`)
    const unknownHost = await outcomeOf(channel(`https://${USER}:${encodeURIComponent(PASSWORD)}@nowhere.invalid/services/${PATH_TOKEN}`).deliver(notification))
    t.ok(unknownHost.error?.retryable, 'an unknown host is retryable')
    messages.push(`${unknownHost.error?.message} ${unknownHost.error?.stack} ${String(unknownHost.error?.cause)}`)
    for (const secret of [USER, PASSWORD, encodeURIComponent(PASSWORD), PATH_TOKEN, 'nowhere.invalid']) {
      t.ok(messages.every((message) => !message.includes(secret)), `no message, stack or cause holds ${JSON.stringify(secret)}`)
    }
  } finally {
    await server.close()
  }
})

test('plain http leaves only for loopback, checked at call time too; a URL that is no URL is refused without quoting it', async (t) => {
  for (const url of ['http://example.com/hook', 'http://10.0.0.8/hook', 'ftp://127.0.0.1/hook', 'not a url with s3cret']) {
    const { error } = await outcomeOf(channel(url).deliver(notification))
    t.equal(error?.retryable, false, `${url}: refused, not retried`)
    t.ok(error && !error.message.includes(url) && !error.message.includes('s3cret'), `${url}: the message does not quote it (${error?.message})`)
  }
})

test('on Lambda no call goes to loopback, whatever the scheme: its runtime API and extensions listen there', async (t) => {
  const server = await localServer((_request, response) => response.writeHead(200).end())
  const before = process.env.AWS_LAMBDA_FUNCTION_NAME
  try {
    const local = await outcomeOf(channel(`${server.origin}/hook`).deliver(notification))
    t.equal(local.error, undefined, 'in a local run (no function name) the loopback receiver is called')
    // A name Lambda itself gives a function; the sandbox's '@queues notifications' label is no such name.
    process.env.AWS_LAMBDA_FUNCTION_NAME = 'QueueLevelingStaging-NotificationsQueueLambda-AbC123'
    const calls = server.requests.length
    for (const url of [`${server.origin}/hook`, 'https://127.0.0.1/hook', 'https://localhost:9001/2018-06-01/runtime/invocation/next']) {
      const { error } = await outcomeOf(channel(url).deliver(notification))
      t.equal(error?.retryable, false, `${url}: refused on Lambda, not retried`)
    }
    t.equal(server.requests.length, calls, 'nothing reached the loopback server')
  } finally {
    if (before === undefined) delete process.env.AWS_LAMBDA_FUNCTION_NAME
    else process.env.AWS_LAMBDA_FUNCTION_NAME = before
    await server.close()
  }
})

test('no answer within the timeout is a retryable failure', async (t) => {
  const server = await localServer(() => undefined)
  try {
    const { error, ms } = await outcomeOf(channel(`${server.origin}/hook`, 200).deliver(notification))
    t.equal(error?.retryable, true, 'retryable')
    t.equal(error?.message, 'Webhook timed out after 200 ms')
    t.ok(ms < 1000, `after ${ms.toFixed(0)} ms`)
  } finally {
    await server.close()
  }
})

test("warm gets the channel ready without calling the downstream; the HTTP client's first request is no longer the call's", async (t) => {
  const downstream = await localServer((_request, response) => response.writeHead(200).end())
  try {
    const webhook = channel(`${downstream.origin}/hook`)
    await webhook.warm()
    await webhook.warm()
    t.equal(downstream.requests.length, 0, 'warmed twice: the downstream got nothing')
    const started = performance.now()
    await webhook.deliver(notification)
    t.equal(downstream.requests.length, 1, 'then the call reaches it once')
    t.ok(performance.now() - started < 2000, `delivered in ${(performance.now() - started).toFixed(0)} ms`)
  } finally {
    await downstream.close()
  }
})
