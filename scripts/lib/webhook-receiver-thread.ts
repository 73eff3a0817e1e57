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

const server = createServer((request, response) => {
  // `npm run downstream` is a local server too: a web page cannot post fake deliveries to it.
  if (refuseForeign(request, response)) return
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
    server.listen(message.port, '127.0.0.1', () => post({ type: 'listening', port: (server.address() as AddressInfo).port }))
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
