import { Agent, createServer, request, type IncomingMessage, type OutgoingHttpHeaders, type Server, type ServerResponse } from 'node:http'
import { createRequestHandler, type ISqsServerOptions } from '../vendor/local-aws-sqs/index.cjs'
import type { LocalLambdaApi } from './local-lambda-api.ts'
import { foreignRequestReason } from './local-only.ts'
import { judgeSend, type Verdict } from './sqs-contents.ts'
import {
  allFailedResponse,
  protocolOf,
  queueNameOf,
  readSendRequest,
  refusalResponse,
  withFailedEntries,
  withSystemAttributeNames,
  withTraceHeader,
  type SendRequest,
  type WireResponse,
} from './sqs-wire.ts'

/**
 * local-aws-sqs behind a front server of our own that refuses what SQS refuses
 * and local-aws-sqs takes (sqs-contents.ts). local-aws-sqs listens on a private
 * loopback port; the front buffers each request, judges sends, and passes on the
 * rest unchanged. A batch with refused entries is passed on without them, and
 * their failures are added to local-aws-sqs's answer, as SQS reports them.
 * It also does two things SQS does and local-aws-sqs does not: a send's
 * X-Amzn-Trace-Id header becomes its messages' AWSTraceHeader, and a receive
 * may ask for that attribute by its current name, MessageSystemAttributeNames.
 * Before any of that, every request passes the local-only guard (local-only.ts):
 * a web page open in the developer's browser cannot send, purge or read messages.
 */

type QueueService = ReturnType<typeof createRequestHandler>['service']

interface Relayed {
  status: number
  headers: OutgoingHttpHeaders
  body: Buffer
}

// Connection-level headers describe one hop, not the other.
const HOP_HEADERS = new Set(['connection', 'keep-alive', 'transfer-encoding', 'content-length', 'date'])
const endToEnd = (headers: IncomingMessage['headers']): OutgoingHttpHeaders =>
  Object.fromEntries(Object.entries(headers).filter(([name, value]) => value !== undefined && !HOP_HEADERS.has(name)))

function readBody(stream: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    stream.on('data', (chunk: Buffer) => chunks.push(chunk))
    stream.on('end', () => resolve(Buffer.concat(chunks)))
    stream.on('error', reject)
  })
}

function relay(agent: Agent, port: number, incoming: IncomingMessage, body: Buffer | string): Promise<Relayed> {
  return new Promise((resolve, reject) => {
    const headers = { ...endToEnd(incoming.headers), 'content-length': String(Buffer.byteLength(body)) }
    const outgoing = request({ host: '127.0.0.1', port, agent, method: incoming.method, path: incoming.url, headers }, (answer) => {
      readBody(answer).then((answerBody) => resolve({ status: answer.statusCode ?? 502, headers: endToEnd(answer.headers), body: answerBody }), reject)
    })
    outgoing.on('error', reject)
    outgoing.end(body)
  })
}

function reply(response: ServerResponse, answer: WireResponse | Relayed): void {
  response.writeHead(answer.status, answer.headers)
  response.end(answer.body)
}

/**
 * Refuses a request the local-only guard refuses (local-only.ts) as SQS
 * refuses a caller it does not allow: 403 AccessDenied in the request's
 * protocol. True when it did.
 */
function refusedAsForeign(incoming: IncomingMessage, response: ServerResponse): boolean {
  const reason = foreignRequestReason(incoming)
  if (reason === undefined) return false
  incoming.resume()
  const denied = refusalResponse(protocolOf(incoming.headers), { code: 'AccessDenied', type: 'com.amazon.coral.service#AccessDeniedException', message: reason })
  reply(response, { ...denied, status: 403 })
  return true
}

/** SQS's verdict on a send request, judged against the queue's own size limit as local-aws-sqs holds it. */
function verdictOn(send: SendRequest, service: QueueService): Verdict {
  const name = queueNameOf(send.queueUrl)
  const queue = service.Queues.find((candidate) => candidate.QueueName === name)
  const known = queue !== undefined && !service.deletingQueues.has(queue.QueueName)
  return judgeSend(send.action, send.messages, known ? queue.MaximumMessageSize : undefined)
}

/** The request as local-aws-sqs must see it to answer as SQS would; the bytes as they came when nothing changes. */
function asSqsTakesIt(incoming: IncomingMessage, body: Buffer): Buffer {
  const text = body.toString()
  const changed = withSystemAttributeNames(incoming.headers, withTraceHeader(incoming.headers, text))
  return changed === text ? body : Buffer.from(changed)
}

async function answer(incoming: IncomingMessage, service: QueueService, pass: (body: Buffer | string) => Promise<Relayed>): Promise<WireResponse | Relayed> {
  const body = asSqsTakesIt(incoming, await readBody(incoming))
  const send = readSendRequest(incoming.headers, body.toString())
  const verdict: Verdict = send ? verdictOn(send, service) : { kind: 'pass' }
  if (!send || verdict.kind === 'pass') return pass(body)
  if (verdict.kind === 'refuse') return refusalResponse(send.protocol, verdict.refusal)
  if (verdict.keep.length === 0) return allFailedResponse(send.protocol, verdict.failed)
  const relayed = await pass(send.keepOnly(verdict.keep))
  if (relayed.status !== 200) return relayed
  return { ...relayed, body: Buffer.from(withFailedEntries(send.protocol, relayed.body.toString(), verdict.failed)) }
}

function listen(server: Server, port: number, hostname: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, hostname, () => {
      server.off('error', reject)
      resolve()
    })
  })
}

/**
 * Like local-aws-sqs's createSqsServer; closing the returned server closes local-aws-sqs's too.
 * With `lambdaApi`, the same port also answers Lambda's event source mapping API (local-lambda-api.ts).
 */
export async function startLocalSqsServer(options: ISqsServerOptions & { hostname: string; lambdaApi?: LocalLambdaApi }): Promise<Server> {
  const { service, requestHandler } = createRequestHandler(options)
  const inner = createServer((incoming, response) => {
    // The private port is on loopback too, where a page could find it by scanning: guarded as well.
    if (refusedAsForeign(incoming, response)) return
    // Some malformed requests make local-aws-sqs throw before its own error handling: answer them rather than crash.
    requestHandler(incoming, response).catch((error: unknown) => (response.headersSent ? response.destroy() : response.writeHead(500).end(String(error))))
  })
  await listen(inner, 0, '127.0.0.1')
  const address = inner.address()
  if (address === null || typeof address === 'string') throw new Error(`local-aws-sqs is not on a TCP port: ${address}`)
  const agent = new Agent({ keepAlive: true })
  const closeInner = (): void => {
    agent.destroy()
    inner.closeAllConnections()
    inner.close()
  }
  const front = createServer((incoming, response) => {
    // Before any routing, so that every route of the front (today SQS's, tomorrow others) is covered.
    if (refusedAsForeign(incoming, response)) return
    const { lambdaApi } = options
    const answered = lambdaApi?.handles(incoming.url)
      ? readBody(incoming).then((body) => lambdaApi.answer(incoming.method, incoming.url, body.toString()))
      : answer(incoming, service, (body) => relay(agent, address.port, incoming, body))
    answered
      .catch((error: unknown): WireResponse => ({ status: 500, headers: { 'content-type': 'text/plain' }, body: `local SQS front: ${String(error)}` }))
      .then((result) => reply(response, result))
      // Only a client gone away can make the reply itself fail.
      .catch(() => response.destroy())
  })
  front.on('close', closeInner)
  try {
    await listen(front, options.port, options.hostname)
  } catch (error) {
    closeInner()
    throw error
  }
  return front
}
