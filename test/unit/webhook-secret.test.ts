import { createHmac } from 'node:crypto'
import test from 'tape'
import { refusalOf } from '../helpers/refusal.ts'
import { SsmSecureString, webhookSigningSecret, webhookUrl, type SsmSecureStringOptions } from '../../src/lib/adapters/ssm-signing-secret.ts'
import { fixedSigningSecret, WebhookChannel, type SigningSecret } from '../../src/lib/adapters/webhook-channel.ts'
import { webhookChannel } from '../../src/lib/app.ts'
import { hasDeliveryChannel, readConsumerSettings, validateSettings, type WebhookSettings } from '../../src/lib/config.ts'
import { DeliveryFailedError } from '../../src/lib/notifications/channel.ts'
import type { Notification } from '../../src/lib/notifications/notification.ts'
import { localServer, type LocalServer, type ReceivedRequest } from '../helpers/local-server.ts'

/**
 * The webhook's signing secret, and a webhook URL with credentials: from the
 * environment locally, from SSM SecureStrings deployed (Powertools
 * Parameters, cached). Deliveries go to a real local HTTP receiver; SSM is a
 * local HTTP server speaking SSM's JSON protocol, so the real SDK client and
 * Powertools' cache are what is tested.
 */
const PARAMETER = '/queue-leveling/staging/webhook-signing-secret'
const URL_PARAMETER = '/secrets/queue-leveling/staging/webhook-url'
const notification: Notification = {
  id: 'task_created:t-1:1',
  event: 'task_created',
  taskId: 't-1',
  version: 1,
  subject: 'New task created: Pay the rent',
  text: 'New task created: Pay the rent\nStatus: open',
  occurredAt: '2030-01-02T03:04:05.000Z',
  task: { id: 't-1', title: 'Pay the rent', isComplete: false, version: 1, createdAt: '2030-01-02T03:04:05.000Z', updatedAt: '2030-01-02T03:04:05.000Z' },
}


/** What the receiver checks: the HMAC of "<timestamp>.<raw body>" under `secret`. */
function signedWith(request: ReceivedRequest, secret: string): boolean {
  const timestamp = request.headers['x-signature-timestamp']
  if (typeof timestamp !== 'string') return false
  return request.headers['x-signature-256'] === `sha256=${createHmac('sha256', secret).update(`${timestamp}.${request.body}`).digest('hex')}`
}

/** An SSM stand-in: GetParameter answers `value` (or the one `values` holds for that name), or the error `failWith` names (SSM's JSON 1.1 error shape). */
interface FakeSsm extends LocalServer {
  value: string
  values: Record<string, string>
  failWith: string | undefined
  /** GetParameter calls, with the parameter asked for and whether decryption was asked. */
  reads: Array<{ name: unknown; withDecryption: unknown }>
}

async function fakeSsm(): Promise<FakeSsm> {
  // The handler reads the state through `ssm`, which the test changes between calls.
  const ssm = { value: 'first-secret', values: {} as Record<string, string>, failWith: undefined as string | undefined, reads: [] as FakeSsm['reads'] }
  const server = await localServer((request, response) => {
    const input = JSON.parse(request.body || '{}') as { Name?: unknown; WithDecryption?: unknown }
    const answer = (status: number, body: unknown) => response.writeHead(status, { 'Content-Type': 'application/x-amz-json-1.1' }).end(JSON.stringify(body))
    if (request.headers['x-amz-target'] !== 'AmazonSSM.GetParameter') return answer(400, { __type: 'InvalidAction', message: 'not GetParameter' })
    ssm.reads.push({ name: input.Name, withDecryption: input.WithDecryption })
    if (ssm.failWith) return answer(400, { __type: ssm.failWith, message: `${ssm.failWith} for ${String(input.Name)}` })
    const parameter = { Name: input.Name, Type: 'SecureString', Value: ssm.values[String(input.Name)] ?? ssm.value, Version: 1, ARN: `arn:aws:ssm:us-east-1:123456789012:parameter${String(input.Name)}` }
    return answer(200, { Parameter: parameter })
  })
  return Object.assign(ssm, server)
}

/** An SSM client of the local stand-in: one attempt, so each read is one request. */
const ssmClient = (ssm: LocalServer, maxAttempts = 1): SsmSecureStringOptions['clientConfig'] => ({
  endpoint: ssm.origin,
  region: 'us-east-1',
  credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  maxAttempts,
})

const receiver = (): Promise<LocalServer> => localServer((_request, response) => response.writeHead(204).end())

const settings = (url: string): WebhookSettings => ({ url, secret: undefined, secretParameter: PARAMETER, timeoutMs: 2000 })

async function failureOf(delivery: Promise<void>): Promise<DeliveryFailedError | string> {
  try {
    await delivery
    return 'delivered'
  } catch (error) {
    return error instanceof DeliveryFailedError ? error : `not a DeliveryFailedError: ${String(error)}`
  }
}

test('settings: NOTIFY_WEBHOOK_SECRET locally, NOTIFY_WEBHOOK_SECRET_PARAMETER deployed, never both', (t) => {
  const url = 'http://127.0.0.1:4000/hook'
  t.deepEqual(
    readConsumerSettings({ NOTIFY_WEBHOOK_URL: url, NOTIFY_WEBHOOK_SECRET: ' local-secret ' }).webhook,
    { url, urlParameter: undefined, secret: 'local-secret', secretParameter: undefined, timeoutMs: 5000 },
    'the secret from the environment',
  )
  t.deepEqual(
    readConsumerSettings({ NOTIFY_WEBHOOK_URL: url, NOTIFY_WEBHOOK_SECRET_PARAMETER: PARAMETER }).webhook,
    { url, urlParameter: undefined, secret: undefined, secretParameter: PARAMETER, timeoutMs: 5000 },
    'the name of the SSM parameter',
  )
  const arn = `arn:aws:ssm:eu-west-1:123456789012:parameter${PARAMETER}`
  t.equal(readConsumerSettings({ NOTIFY_WEBHOOK_URL: url, NOTIFY_WEBHOOK_SECRET_PARAMETER: arn }).webhook?.secretParameter, arn, 'or its ARN')
  const both = { NOTIFY_WEBHOOK_URL: url, NOTIFY_WEBHOOK_SECRET: 'x', NOTIFY_WEBHOOK_SECRET_PARAMETER: PARAMETER }
  t.match(refusalOf(() => readConsumerSettings(both)), /NOTIFY_WEBHOOK_SECRET: must not be set together with NOTIFY_WEBHOOK_SECRET_PARAMETER/, 'both: the consumer refuses')
  t.match(refusalOf(() => validateSettings(both)), /NOTIFY_WEBHOOK_SECRET_PARAMETER/, 'and so do npm start and deploy')
  t.doesNotMatch(refusalOf(() => validateSettings(both)), /: x\b/, 'without quoting the secret')
  t.match(refusalOf(() => readConsumerSettings({ NOTIFY_WEBHOOK_SECRET_PARAMETER: 'webhook secret!' })), /NOTIFY_WEBHOOK_SECRET_PARAMETER: must be an SSM parameter name/, 'a name SSM would refuse')
  t.end()
})

test('which source signs: SSM when a parameter is named, else the environment, else none', async (t) => {
  t.ok(webhookSigningSecret({ url: 'https://example.com', secret: undefined, secretParameter: PARAMETER, timeoutMs: 1 }) instanceof SsmSecureString, 'SSM')
  t.equal(await webhookSigningSecret({ url: 'https://example.com', secret: 'env-secret', secretParameter: undefined, timeoutMs: 1 }).current(), 'env-secret', 'the environment')
  t.equal(await webhookSigningSecret({ url: 'https://example.com', secret: undefined, secretParameter: undefined, timeoutMs: 1 }).current(), undefined, 'none: unsigned')
})

test('a secret from the environment signs "<timestamp>.<raw body>"; no secret, no signature headers', async (t) => {
  const downstream = await receiver()
  try {
    await new WebhookChannel(settings(`${downstream.origin}/hook`), fixedSigningSecret('env-secret')).deliver(notification)
    await new WebhookChannel(settings(`${downstream.origin}/hook`), fixedSigningSecret(undefined)).deliver(notification)
    const [signed, unsigned] = downstream.requests
    t.ok(signed && signedWith(signed, 'env-secret'), 'signed with the configured secret')
    t.ok(signed && Math.abs(Number(signed.headers['x-signature-timestamp']) - Date.now() / 1000) < 5, 'the timestamp is now, in seconds')
    t.equal(unsigned?.headers['x-signature-256'], undefined, 'no secret: no signature')
    t.equal(unsigned?.headers['x-signature-timestamp'], undefined, 'and no timestamp')
  } finally {
    await downstream.close()
  }
})

test('SSM: read decrypted, signs with the current value, cached for maxAge, a rotation taken up after it', async (t) => {
  const ssm = await fakeSsm()
  const downstream = await receiver()
  try {
    const secret = new SsmSecureString(PARAMETER, { maxAgeSeconds: 1, clientConfig: ssmClient(ssm) })
    const channel = new WebhookChannel(settings(`${downstream.origin}/hook`), secret)
    await channel.deliver(notification)
    await channel.deliver(notification)
    t.deepEqual(ssm.reads, [{ name: PARAMETER, withDecryption: true }], 'one GetParameter for two deliveries, of the parameter, decrypted')
    t.ok(downstream.requests.every((request) => signedWith(request, 'first-secret')), 'both signed with the stored secret')

    ssm.value = 'rotated-secret'
    await channel.deliver(notification)
    t.ok(signedWith(downstream.requests[2] as ReceivedRequest, 'first-secret'), 'right after a rotation the cached secret still signs (receivers accept both for maxAge)')
    t.equal(ssm.reads.length, 1, 'without asking SSM')
    await new Promise((resolve) => setTimeout(resolve, 1100))
    await channel.deliver(notification)
    t.equal(ssm.reads.length, 2, 'after maxAge, SSM is asked again')
    t.ok(signedWith(downstream.requests[3] as ReceivedRequest, 'rotated-secret'), 'and the new secret signs, with no deploy')
  } finally {
    await Promise.all([ssm.close(), downstream.close()])
  }
})

test('SSM: the shipped cache is 300 s: a burst of deliveries, at once and after, reads the secret once', async (t) => {
  const ssm = await fakeSsm()
  try {
    const secret = new SsmSecureString(PARAMETER, { clientConfig: ssmClient(ssm) })
    // A batch's records are delivered concurrently: they share the read under way.
    const values = await Promise.all(Array.from({ length: 10 }, () => secret.current()))
    for (let index = 0; index < 20; index++) await secret.current()
    t.deepEqual([...new Set(values)], ['first-secret'], 'every read gives the secret')
    t.equal(ssm.reads.length, 1, 'ten reads at once and twenty after them: one GetParameter')
  } finally {
    await ssm.close()
  }
})

test('SSM unreadable (missing, access denied, throttled, unreachable): retryable, and not one request to the webhook', async (t) => {
  const ssm = await fakeSsm()
  const downstream = await receiver()
  try {
    for (const failure of ['ParameterNotFound', 'AccessDeniedException', 'ThrottlingException', 'InternalServerError']) {
      ssm.failWith = failure
      const secret = new SsmSecureString(PARAMETER, { clientConfig: ssmClient(ssm) })
      const error = await failureOf(new WebhookChannel(settings(`${downstream.origin}/hook`), secret).deliver(notification))
      t.ok(error instanceof DeliveryFailedError && error.retryable, `${failure}: a retryable DeliveryFailedError`)
      t.match(error instanceof Error ? error.message : error, new RegExp(`signing secret could not be read .*${PARAMETER}.*${failure}`), `${failure}: the message names the parameter and the reason`)
    }
    ssm.failWith = undefined
    await ssm.close()
    const unreachable = new SsmSecureString(PARAMETER, { clientConfig: ssmClient(ssm) })
    const error = await failureOf(new WebhookChannel(settings(`${downstream.origin}/hook`), unreachable).deliver(notification))
    t.ok(error instanceof DeliveryFailedError && error.retryable, 'SSM unreachable: retryable')
    t.equal(downstream.requests.length, 0, 'no POST at all, signed or unsigned')
  } finally {
    await Promise.all([ssm.close().catch(() => undefined), downstream.close()])
  }
})

test('SSM: a failed read is not cached, the next delivery reads again and is signed', async (t) => {
  const ssm = await fakeSsm()
  const downstream = await receiver()
  try {
    const channel = new WebhookChannel(settings(`${downstream.origin}/hook`), new SsmSecureString(PARAMETER, { clientConfig: ssmClient(ssm) }))
    ssm.failWith = 'ThrottlingException'
    t.ok((await failureOf(channel.deliver(notification))) instanceof DeliveryFailedError, 'throttled: failed')
    ssm.failWith = undefined
    await channel.deliver(notification)
    t.equal(ssm.reads.length, 2, 'SSM asked again')
    t.equal(downstream.requests.length, 1, 'one POST')
    t.ok(signedWith(downstream.requests[0] as ReceivedRequest, 'first-secret'), 'signed')
  } finally {
    await Promise.all([ssm.close(), downstream.close()])
  }
})

test('any source that throws holds the POST back: retryable, the reason kept', async (t) => {
  const downstream = await receiver()
  try {
    const broken: SigningSecret = { current: () => Promise.reject(new Error('vault sealed')) }
    const error = await failureOf(new WebhookChannel(settings(`${downstream.origin}/hook`), broken).deliver(notification))
    t.ok(error instanceof DeliveryFailedError && error.retryable, 'retryable')
    t.match(error instanceof Error ? error.message : error, /vault sealed/, 'with the reason')
    t.equal(downstream.requests.length, 0, 'nothing sent')
  } finally {
    await downstream.close()
  }
})

test('settings: the webhook URL from NOTIFY_WEBHOOK_URL or from the SSM parameter NOTIFY_WEBHOOK_URL_PARAMETER names, never both', (t) => {
  t.deepEqual(
    readConsumerSettings({ NOTIFY_WEBHOOK_URL_PARAMETER: URL_PARAMETER, NOTIFY_WEBHOOK_SECRET_PARAMETER: PARAMETER }).webhook,
    { url: undefined, urlParameter: URL_PARAMETER, secret: undefined, secretParameter: PARAMETER, timeoutMs: 5000 },
    'the parameter alone turns the webhook on',
  )
  t.ok(hasDeliveryChannel({ NOTIFY_WEBHOOK_URL_PARAMETER: URL_PARAMETER }), 'a channel: the local log default stays off')
  const both = { NOTIFY_WEBHOOK_URL: 'https://user:pass@hooks.example.com/in', NOTIFY_WEBHOOK_URL_PARAMETER: URL_PARAMETER }
  t.match(refusalOf(() => readConsumerSettings(both)), /NOTIFY_WEBHOOK_URL: must not be set together with NOTIFY_WEBHOOK_URL_PARAMETER/, 'both: the consumer refuses')
  t.match(refusalOf(() => validateSettings(both)), /NOTIFY_WEBHOOK_URL_PARAMETER/, 'and so do npm start and deploy')
  t.doesNotMatch(refusalOf(() => validateSettings(both)), /user:pass/, 'without quoting the URL')
  t.match(refusalOf(() => readConsumerSettings({ NOTIFY_WEBHOOK_URL_PARAMETER: 'my url?' })), /NOTIFY_WEBHOOK_URL_PARAMETER: must be an SSM parameter name/, 'the same rule as the secret parameter')
  t.end()
})

test('SSM URL: the consumer posts to the URL the parameter holds, credentials as Basic auth, query kept; read once per maxAge', async (t) => {
  const ssm = await fakeSsm()
  const downstream = await receiver()
  try {
    const target = new URL(`${downstream.origin}/hook?token=tok-123`)
    target.username = 'hook-user'
    target.password = 'hook-pass'
    ssm.values[URL_PARAMETER] = target.href
    const settings = readConsumerSettings({ NOTIFY_WEBHOOK_URL_PARAMETER: URL_PARAMETER }).webhook!
    const channel = new WebhookChannel(settings, webhookSigningSecret(settings), webhookUrl(settings, { clientConfig: ssmClient(ssm) }))
    await channel.deliver(notification)
    await channel.deliver(notification)
    t.deepEqual(ssm.reads, [{ name: URL_PARAMETER, withDecryption: true }], 'one GetParameter for two deliveries, decrypted')
    t.deepEqual(downstream.requests.map((request) => request.url), ['/hook?token=tok-123', '/hook?token=tok-123'], 'to the stored URL, its query included')
    t.equal(downstream.requests[0]?.headers.authorization, `Basic ${Buffer.from('hook-user:hook-pass').toString('base64')}`, 'its user and password as Basic credentials')
  } finally {
    await Promise.all([ssm.close(), downstream.close()])
  }
})

test("SSM URL unreadable: retryable, nothing sent; no failure's message holds the URL or its credentials", async (t) => {
  const ssm = await fakeSsm()
  let status = 500
  const downstream = await localServer((_request, response) => response.writeHead(status).end())
  try {
    ssm.values[URL_PARAMETER] = `http://hook-user:hook-pass@127.0.0.1:${new URL(downstream.origin).port}/hook?token=tok-123`
    const secrets = ['hook-user', 'hook-pass', 'tok-123']
    const messages: string[] = []
    const settings = readConsumerSettings({ NOTIFY_WEBHOOK_URL_PARAMETER: URL_PARAMETER }).webhook!
    const deliverWith = (url: ReturnType<typeof webhookUrl>) => failureOf(new WebhookChannel(settings, fixedSigningSecret(undefined), url).deliver(notification))
    for (const failure of ['ParameterNotFound', 'AccessDeniedException', 'ThrottlingException']) {
      ssm.failWith = failure
      const error = await deliverWith(webhookUrl(settings, { clientConfig: ssmClient(ssm) }))
      t.ok(error instanceof DeliveryFailedError && error.retryable, `${failure}: a retryable DeliveryFailedError`)
      t.match(error instanceof Error ? error.message : error, new RegExp(`URL could not be read .*${URL_PARAMETER}.*${failure}`), `${failure}: the message names the parameter and the reason`)
      messages.push(error instanceof Error ? error.message : error)
    }
    t.equal(downstream.requests.length, 0, 'no POST while the URL cannot be read')
    ssm.failWith = undefined
    const url = webhookUrl(settings, { clientConfig: ssmClient(ssm) })
    const answered = await deliverWith(url)
    t.ok(answered instanceof DeliveryFailedError && answered.retryable, 'read: the POST goes out, a 500 is retryable')
    messages.push(answered instanceof Error ? answered.message : answered)
    status = 302
    messages.push(String(await deliverWith(url)))
    await downstream.close()
    messages.push(String(await deliverWith(url)))
    t.equal(messages.length, 6, 'six failures seen')
    t.deepEqual(messages.filter((message) => secrets.some((secret) => message.includes(secret))), [], 'none of their messages holds the user, the password or the token')
  } finally {
    await Promise.all([ssm.close(), downstream.close().catch(() => undefined)])
  }
})

test("the consumer's wiring: with both parameters named, it reads the URL and the signing secret from SSM", async (t) => {
  const ssm = await fakeSsm()
  const downstream = await receiver()
  const saved = { ...process.env }
  try {
    // The SDK's own settings, as on Lambda: an SSM endpoint (here the stand-in), a region, credentials.
    Object.assign(process.env, { AWS_ENDPOINT_URL_SSM: ssm.origin, AWS_REGION: 'us-east-1', AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test' })
    ssm.values[URL_PARAMETER] = `${downstream.origin}/from-ssm`
    ssm.values[PARAMETER] = 'ssm-secret'
    const settings = readConsumerSettings({ NOTIFY_WEBHOOK_URL_PARAMETER: URL_PARAMETER, NOTIFY_WEBHOOK_SECRET_PARAMETER: PARAMETER }).webhook!
    await webhookChannel(settings).deliver(notification)
    t.deepEqual(ssm.reads.map((read) => read.name).sort(), [PARAMETER, URL_PARAMETER].sort(), 'both parameters read from SSM')
    t.equal(downstream.requests[0]?.url, '/from-ssm', 'the POST went to the URL SSM holds')
    t.ok(downstream.requests[0] && signedWith(downstream.requests[0], 'ssm-secret'), 'signed with the secret SSM holds')
  } finally {
    process.env = saved
    await Promise.all([ssm.close(), downstream.close()])
  }
})
