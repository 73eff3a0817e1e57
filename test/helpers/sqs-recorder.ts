import { createServer, request as forward, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'

/** One SendMessage as the producer made it: the message exactly as it went onto the queue. */
export interface SentMessage {
  event: string | undefined
  body: string
}

/**
 * An HTTP proxy in front of the local SQS that passes every request through
 * and keeps the messages sent: what the producer published, seen before any
 * consumer takes it off the queue. The SDK speaks SQS's JSON protocol.
 */
export class SqsRecorder {
  readonly sent: SentMessage[] = []
  /** Every call's action (`AmazonSQS.ReceiveMessage`...), in order. */
  readonly actions: string[] = []
  readonly #server: Server

  constructor(target: { host: string; port: number }) {
    this.#server = createServer((incoming, outgoing) => {
      const chunks: Buffer[] = []
      incoming.on('data', (chunk: Buffer) => chunks.push(chunk))
      incoming.on('end', () => {
        const body = Buffer.concat(chunks)
        this.actions.push(String(incoming.headers['x-amz-target']))
        if (incoming.headers['x-amz-target'] === 'AmazonSQS.SendMessage') this.#record(body.toString('utf8'))
        const upstream = forward({ ...target, method: incoming.method, path: incoming.url, headers: incoming.headers }, (answer) => {
          outgoing.writeHead(answer.statusCode ?? 502, answer.headers)
          answer.pipe(outgoing)
        })
        upstream.on('error', () => outgoing.destroy())
        upstream.end(body)
      })
    })
  }

  #record(json: string): void {
    const request = JSON.parse(json) as { MessageBody?: string; MessageAttributes?: { event?: { StringValue?: string } } }
    this.sent.push({ event: request.MessageAttributes?.event?.StringValue, body: request.MessageBody ?? '' })
  }

  /** Listens on 127.0.0.1 (port 0: any free port); resolves to the endpoint to give the producer. */
  async listen(port = 0): Promise<string> {
    await new Promise<void>((resolve) => this.#server.listen(port, '127.0.0.1', resolve))
    return `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`
  }

  async close(): Promise<void> {
    this.#server.closeAllConnections()
    await new Promise<void>((resolve) => this.#server.close(() => resolve()))
  }
}
