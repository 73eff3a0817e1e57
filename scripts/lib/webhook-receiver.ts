import { createServer, type IncomingHttpHeaders, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { refuseForeign } from 'arc-plugin-sqs-queues/local-only'

/** One call the downstream received. */
export interface WebhookCall {
  headers: IncomingHttpHeaders
  rawBody: string
  body: { id: string; event: string; taskId: string; version: number; subject: string; task: { title: string } }
  receivedAt: number
  status: number
}

export interface WebhookBehaviour {
  /** How long to take before answering, ms. */
  delayMs: number
  /** The status to answer a call with. */
  status: (call: Omit<WebhookCall, 'status'>) => number
  /** Headers to answer it with besides Content-Type (a `Retry-After`, say). */
  headers?: (call: Omit<WebhookCall, 'status'>) => Record<string, string>
}

/**
 * A real HTTP server standing in for the notification downstream: it records
 * every call and the most calls it ever had in flight at once.
 */
export class WebhookReceiver {
  readonly calls: WebhookCall[] = []
  behaviour: WebhookBehaviour = { delayMs: 0, status: () => 200 }
  inFlight = 0
  maxInFlight = 0
  readonly #server: Server

  constructor() {
    this.#server = createServer((request, response) => {
      // `npm run downstream` is a local server too: a web page cannot post fake deliveries to it.
      if (refuseForeign(request, response)) return
      const chunks: Buffer[] = []
      request.on('data', (chunk: Buffer) => chunks.push(chunk))
      request.on('end', () => {
        this.inFlight++
        this.maxInFlight = Math.max(this.maxInFlight, this.inFlight)
        const rawBody = Buffer.concat(chunks).toString('utf8')
        const received = { headers: request.headers, rawBody, body: JSON.parse(rawBody) as WebhookCall['body'], receivedAt: Date.now() }
        const status = this.behaviour.status(received)
        setTimeout(() => {
          this.inFlight--
          this.calls.push({ ...received, status })
          response.writeHead(status, { 'Content-Type': 'application/json', ...this.behaviour.headers?.(received) }).end('{}')
        }, this.behaviour.delayMs)
      })
    })
  }

  /** Listens on 127.0.0.1 (port 0: any free port); resolves to the URL to post to. */
  async listen(port = 0): Promise<string> {
    await new Promise<void>((resolve) => this.#server.listen(port, '127.0.0.1', resolve))
    return `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}/hook`
  }

  /** Calls answered 2xx, by notification id. */
  deliveredIds(): string[] {
    return this.calls.filter((call) => call.status >= 200 && call.status < 300).map((call) => call.body.id)
  }

  resetStats(): void {
    this.calls.length = 0
    this.maxInFlight = this.inFlight
  }

  async close(): Promise<void> {
    this.#server.closeAllConnections()
    await new Promise<void>((resolve) => this.#server.close(() => resolve()))
  }
}
