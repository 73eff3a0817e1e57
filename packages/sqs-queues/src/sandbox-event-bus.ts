import { subscribe } from 'node:diagnostics_channel'
import { Server, type IncomingMessage, type RequestListener, type ServerResponse } from 'node:http'
import type { SendMessageCommandInput, SendMessageCommandOutput } from '@aws-sdk/client-sqs'
import { refuseForeign } from './local-only.ts'

/**
 * `arc.queues.publish` (@architect/functions) in sandbox posts
 * `{ name, payload, delaySeconds, groupID }` to sandbox's own event bus
 * (its events port, ARC_EVENTS_PORT, `POST /queues`), and sandbox invokes the
 * consumer at once with one record: no queue, no batch, no retry, no DLQ. This
 * module puts the plugin in front of that bus, so code written for stock
 * Architect publishes into the local queue, as it publishes into SQS on AWS.
 *
 * How the bus is found, with nothing of sandbox imported or patched: sandbox
 * keeps its http.Server to itself, but Node announces every server that starts
 * listening on the diagnostics channel `tracing:net.server.listen` (a public,
 * documented interface). This module subscribes when it is imported, which
 * Architect's inventory does (loading @plugins) before sandbox starts any
 * service; at the plugin's sandbox.start the server on sandbox's events port is
 * the bus. The plugin then keeps the bus's own request listeners for everything
 * else (`@events`) and answers `POST /queues` itself. When the bus cannot be
 * found the plugin refuses to start rather than let publishes bypass the queues.
 */

/** Servers of this process that listen now, in the order they started. */
const listening = new Set<Server>()

subscribe('tracing:net.server.listen:asyncEnd', (message) => {
  const server = (message as { server?: unknown }).server
  if (!(server instanceof Server)) return
  listening.add(server)
  server.once('close', () => listening.delete(server))
})

/** The HTTP server of this process listening on `port`, if one does. */
export function listeningServerOn(port: number): Server | undefined {
  for (const server of listening) {
    const address = server.address()
    if (server.listening && typeof address === 'object' && address?.port === port) return server
  }
  return undefined
}

/** Where a queue's publishes go: the local queue's URL and whether it is FIFO. */
export interface PublishTarget {
  queueUrl: string
  fifo: boolean
}

export interface QueuePublishesOptions {
  /** By `@queues` name. */
  targets: ReadonlyMap<string, PublishTarget>
  /** SendMessage on the local queue. */
  send(input: SendMessageCommandInput): Promise<SendMessageCommandOutput>
  log: { warn(message: string): void }
}

/** What @architect/functions posts for one `arc.queues.publish`. */
interface PublishRequest {
  name: string
  payload: unknown
  delaySeconds?: unknown
  groupID?: unknown
}

/** A publish body far above SQS's 1 MiB message: refused before it is buffered whole. */
const MAX_REQUEST_BYTES = 2 * 1024 * 1024

class PublishRefused extends Error {
  readonly status: number

  constructor(status: number, message: string) {
    super(message)
    this.status = status
  }
}

function readBody(request: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let size = 0
    const collect = (chunk: Buffer): void => {
      size += chunk.length
      if (size <= MAX_REQUEST_BYTES) {
        chunks.push(chunk)
        return
      }
      // The rest is read and dropped, so the 413 reaches the caller.
      request.off('data', collect)
      request.resume()
      reject(new PublishRefused(413, `publish request over ${MAX_REQUEST_BYTES} bytes`))
    }
    request.on('data', collect)
    request.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')))
    request.on('error', reject)
  })
}

function parsePublish(body: string): PublishRequest {
  let parsed: unknown
  try {
    parsed = JSON.parse(body)
  } catch {
    throw new PublishRefused(400, 'publish request is not JSON')
  }
  const request = parsed as Partial<PublishRequest> | null
  if (typeof request !== 'object' || request === null || typeof request.name !== 'string') throw new PublishRefused(400, 'publish request has no queue name')
  if (request.payload === undefined) throw new PublishRefused(400, 'publish request has no payload')
  return request as PublishRequest
}

/**
 * The SendMessage that `arc.queues.publish` makes on AWS (@architect/functions'
 * live publish): the payload as JSON, `DelaySeconds` of `delaySeconds` or 0,
 * and on a FIFO queue `MessageGroupId` of `groupID` or the queue's name; no
 * deduplication id, so a FIFO queue deduplicates by content when it is
 * content-based and refuses the message otherwise, as SQS does.
 */
export function sendMessageOf(publish: PublishRequest, target: PublishTarget): SendMessageCommandInput {
  return {
    QueueUrl: target.queueUrl,
    MessageBody: JSON.stringify(publish.payload),
    // As @architect/functions sends it: SQS refuses what is not a delay.
    DelaySeconds: (publish.delaySeconds || 0) as number,
    ...(target.fifo && { MessageGroupId: (publish.groupID || publish.name) as string }),
  }
}

/** SQS's refusal (`InvalidParameterValue: ...`, with SQS's status), or the failure as it is. */
function describeFailure(error: unknown): { status: number; message: string } {
  if (error instanceof PublishRefused) return { status: error.status, message: error.message }
  const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode
  const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error)
  return { status: status !== undefined && status >= 400 && status < 500 ? status : 502, message }
}

/**
 * Puts the local queues in front of sandbox's event bus `server`: every request
 * passes the local-only guard (a web page must not publish), `POST /queues`
 * becomes a SendMessage on the named queue, and everything else reaches the
 * bus's own listeners. Returns what gives the bus back its listeners.
 */
export function takeOverQueuePublishes(server: Server, options: QueuePublishesOptions): () => void {
  const busListeners = server.listeners('request') as RequestListener[]
  const passOn = (request: IncomingMessage, response: ServerResponse): void => {
    for (const listener of busListeners) listener.call(server, request, response)
  }
  const publish = async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    try {
      const body = parsePublish(await readBody(request))
      const target = options.targets.get(body.name)
      if (!target) throw new PublishRefused(404, `@queues ${body.name} not found`)
      const sent = await options.send(sendMessageOf(body, target))
      const { MessageId, MD5OfMessageBody, SequenceNumber } = sent
      response.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ MessageId, MD5OfMessageBody, SequenceNumber }))
    } catch (error) {
      const { status, message } = describeFailure(error)
      options.log.warn(`arc.queues.publish refused (${status}): ${message}`)
      if (!response.headersSent) response.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8' })
      response.end(message)
    }
  }
  const route = (request: IncomingMessage, response: ServerResponse): void => {
    if (refuseForeign(request, response)) return
    const path = new URL(request.url ?? '/', 'http://localhost').pathname
    if (request.method === 'POST' && path === '/queues') void publish(request, response)
    else passOn(request, response)
  }
  server.removeAllListeners('request')
  server.on('request', route)
  return () => {
    server.removeListener('request', route)
    for (const listener of busListeners) server.on('request', listener)
  }
}
