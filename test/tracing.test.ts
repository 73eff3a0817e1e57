import { randomBytes } from 'node:crypto'
import { createSocket } from 'node:dgram'
import type { AddressInfo } from 'node:net'
import { ReceiveMessageCommand, StartMessageMoveTaskCommand, type Message } from '@aws-sdk/client-sqs'
import test from 'tape'
import { apiClient } from './helpers/http.ts'
import { freePorts, queueUrlOf, type SandboxApp, startSandboxApp, waitFor, WebhookReceiver } from '../scripts/lib/harness/index.ts'

/**
 * Tracing, run for real: the app with the tracer forced on as a deployed stage
 * has it (the settings Lambda and the template give: AWS_EXECUTION_ENV,
 * POWERTOOLS_TRACE_ENABLED true, an invocation's _X_AMZN_TRACE_ID), sending
 * its segments to an X-Ray daemon address where this test listens on UDP.
 * The producer's SendMessage must leave a well-formed AWSTraceHeader on the
 * message, naming the subsegment of that call; the consumer's webhook call
 * must appear under its host alone. (The app as `npm start` runs it,
 * untouched, prints not one X-Ray line: test/arc-sandbox.test.ts.)
 */

/** What the daemon was sent: one JSON document per datagram, after X-Ray's protocol header line. */
interface TraceDocument {
  id: string
  name: string
  trace_id: string
  parent_id?: string
  namespace?: string
  type?: string
  aws?: { operation?: string }
  http?: { request?: { url?: string; method?: string }; response?: { status?: number } }
}
const daemon = createSocket('udp4')
const datagrams: string[] = []
const documents: TraceDocument[] = []
daemon.on('message', (message) => {
  const text = message.toString('utf8')
  datagrams.push(text)
  const [, body] = text.split('\n', 2)
  if (body) documents.push(JSON.parse(body) as TraceDocument)
})
await new Promise<void>((resolve) => daemon.bind(0, '127.0.0.1', resolve))
const daemonAddress = `127.0.0.1:${(daemon.address() as AddressInfo).port}`

// A trace id as X-Ray makes them: version 1, the epoch seconds in hex, 96 random bits.
const ROOT_ID = `1-${Math.floor(Date.now() / 1000).toString(16)}-${randomBytes(12).toString('hex')}`
const INVOCATION_PARENT = randomBytes(8).toString('hex')
const TRACE_HEADER = /^Root=(1-[0-9a-f]{8}-[0-9a-f]{24});Parent=([0-9a-f]{16});Sampled=1$/

const ARN = (queue: string) => `arn:aws:sqs:us-east-1:000000000000:${queue}`
// Secrets a webhook URL may hold, in its credentials, path and query: none may reach a trace.
const SECRETS = ['hookuser', 'hookpass', 'PATH-T0KEN-9f3', 'QUERY-SIG-7c1']

const receiver = new WebhookReceiver()
let app: SandboxApp

test('start the app with the tracer forced on, its daemon this test, and a webhook URL holding secrets', async (t) => {
  const hook = new URL(await receiver.listen())
  const webhookUrl = `http://${SECRETS[0]}:${SECRETS[1]}@${hook.host}/hooks/${SECRETS[2]}?sig=${SECRETS[3]}`
  const ports = await freePorts()
  app = await startSandboxApp({
    name: 'tracing',
    ports,
    env: { NOTIFY_WEBHOOK_URL: webhookUrl },
    lambdaEnv: {
      // What turns the tracer on: Lambda's AWS_EXECUTION_ENV and the template's POWERTOOLS_TRACE_ENABLED.
      AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs24.x',
      POWERTOOLS_TRACE_ENABLED: 'true',
      // What Lambda gives the X-Ray SDK: the invocation's trace, the daemon's address.
      _X_AMZN_TRACE_ID: `Root=${ROOT_ID};Parent=${INVOCATION_PARENT};Sampled=1`,
      AWS_XRAY_DAEMON_ADDRESS: daemonAddress,
      AWS_XRAY_CONTEXT_MISSING: 'IGNORE_ERROR',
      // The producers publish to the DLQ, which nothing consumes: the message waits there for this test to read.
      NOTIFICATIONS_QUEUE_URL: queueUrlOf(ports, 'notifications-dlq'),
    },
  })
  t.pass('sandbox started')
})

let sent: Message | undefined

test("the producer's SendMessage leaves a well-formed AWSTraceHeader on the message, naming that call's subsegment", async (t) => {
  const api = apiClient(app.baseUrl, app.token)
  const created = await api('POST', '/tasks', { body: { title: 'Traced' } })
  t.equal(created.status, 201, 'created')
  sent = await waitFor('the message in the DLQ', async () => {
    // Visibility 0: read without taking it, so the move below finds it.
    const { Messages = [] } = await app.sqs.send(
      new ReceiveMessageCommand({ QueueUrl: app.dlqUrl, MaxNumberOfMessages: 10, MessageSystemAttributeNames: ['AWSTraceHeader'], VisibilityTimeout: 0 }),
    )
    return Messages.find((message) => message.Body?.includes(created.body.id))
  })
  const header = sent.Attributes?.AWSTraceHeader ?? ''
  const match = TRACE_HEADER.exec(header)
  t.ok(match, `Root=1-<8 hex>-<24 hex>;Parent=<16 hex>;Sampled=1: ${header}`)
  t.equal(match?.[1], ROOT_ID, "the invocation's trace")
  t.notEqual(match?.[2], INVOCATION_PARENT, 'its parent is the SendMessage call, not the invocation')
  const call = await waitFor('the SendMessage subsegment at the daemon', () => documents.find((document) => document.id === match?.[2]))
  t.deepEqual([call.name, call.namespace, call.aws?.operation, call.trace_id], ['SQS', 'aws', 'SendMessage', ROOT_ID], 'the subsegment the header names: SQS SendMessage, in this trace')
  const tableCalls = documents.filter((document) => document.namespace === 'remote' && document.trace_id === ROOT_ID && /^(127\.0\.0\.1|localhost)$/.test(document.name))
  t.ok(tableCalls.length > 0, `table access over aws-lite is recorded too (${tableCalls.length} HTTP subsegments to the local DynamoDB)`)
})

test("the consumer's webhook call is a subsegment named after its host alone; no secret of its URL reaches a trace", async (t) => {
  t.ok(sent, 'the message was sent')
  // The DLQ's message goes to the queue, its AWSTraceHeader with it, as npm run dlq replay moves them.
  await app.sqs.send(new StartMessageMoveTaskCommand({ SourceArn: ARN('notifications-dlq'), DestinationArn: ARN('notifications') }))
  const call = await waitFor('the webhook call', () => receiver.calls.find((candidate) => sent?.Body?.includes(candidate.body.taskId)), 30_000)
  t.equal(call.status, 200, 'delivered')
  t.equal(call.headers['x-amzn-trace-id'], undefined, 'the trace header stays in AWS: the downstream does not get it')
  const webhook = await waitFor('the webhook subsegment', () =>
    documents.find((document) => document.name === '127.0.0.1' && document.http?.request?.url === 'http://127.0.0.1'),
  )
  t.deepEqual(
    [webhook.namespace, webhook.http?.request?.method, webhook.http?.response?.status, webhook.trace_id],
    ['remote', 'POST', 200, ROOT_ID],
    'a remote POST answered 200, in the trace',
  )
  await waitFor('the DynamoDB SDK client (idempotency records)', () => documents.find((document) => document.name === 'DynamoDB' && document.namespace === 'aws'))
  t.pass('the DynamoDB SDK client is recorded')
  const leaked = SECRETS.filter((secret) => datagrams.some((datagram) => datagram.includes(secret)))
  t.deepEqual(leaked, [], `${datagrams.length} documents sent to the daemon, none with the URL's credentials, path or query`)
})

test('stop the traced app', async (t) => {
  await app.stop()
  await receiver.close()
  daemon.close()
  t.pass('stopped')
})
