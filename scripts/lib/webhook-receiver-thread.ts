import { createServer, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { parentPort } from 'node:worker_threads'
import { refuseForeign } from 'arc-plugin-sqs-queues/local-only'
import type { FromReceiverThread, ToReceiverThread } from './webhook-receiver.ts'

/**
 * The WebhookReceiver's HTTP server, on a thread of its own: it stamps each
 * call's arrival and counts the calls in flight the moment they happen, even
 * while the main thread of a test is busy (the sandbox, the local queue and
 * the local DynamoDB all run there), and answers when the main thread has said
 * how.
 */
if (!parentPort) throw new Error('webhook-receiver-thread runs as a worker of WebhookReceiver')
const port = parentPort
const post = (message: FromReceiverThread): void => port.postMessage(message)
const waiting = new Map<number, ServerResponse>()
let nextId = 0
let inFlight = 0

/** The path of the server's own first request, answered here and never reported as a call. */
const WARM_UP_PATH = '/receiver-warm-up'

const server = createServer((request, response) => {
  // `npm run downstream` is a local server too: a web page cannot post fake deliveries to it.
  if (refuseForeign(request, response)) return
  if (request.url === WARM_UP_PATH && request.socket.remoteAddress === '127.0.0.1') {
    request.resume()
    request.on('end', () => response.writeHead(204).end())
    return
  }
  const chunks: Buffer[] = []
  request.on('data', (chunk: Buffer) => chunks.push(chunk))
  request.on('end', () => {
    const receivedAt = Date.now()
    const id = nextId++
    inFlight++
    waiting.set(id, response)
    post({ type: 'call', id, headers: request.headers, rawBody: Buffer.concat(chunks).toString('utf8'), receivedAt, inFlight })
  })
})

port.on('message', (message: ToReceiverThread) => {
  if (message.type === 'listen') {
    server.listen(message.port, '127.0.0.1', () => {
      const { port: listening } = server.address() as AddressInfo
      // One request to itself first: a cold server compiles its HTTP code on its first request, and that call's arrival would be stamped late.
      void fetch(`http://127.0.0.1:${listening}${WARM_UP_PATH}`, { method: 'POST', body: '{}' })
        .then((answer) => answer.arrayBuffer())
        .catch(() => undefined)
        .finally(() => post({ type: 'listening', port: listening }))
    })
  } else if (message.type === 'answer') {
    setTimeout(() => {
      const response = waiting.get(message.id)
      waiting.delete(message.id)
      inFlight--
      post({ type: 'answered', id: message.id })
      response?.writeHead(message.status, { 'Content-Type': 'application/json', ...message.headers }).end('{}')
    }, message.delayMs)
  } else {
    server.closeAllConnections()
    server.close(() => post({ type: 'closed' }))
  }
})
