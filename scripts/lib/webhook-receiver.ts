import type { IncomingHttpHeaders } from 'node:http'
import { Worker } from 'node:worker_threads'

/** One call the downstream received. */
export interface WebhookCall {
  headers: IncomingHttpHeaders
  rawBody: string
  body: { id: string; event: string; taskId: string; version: number; subject: string; task: { title: string } }
  /** When its body had arrived, stamped by the server's own thread. */
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

/** What the receiver's thread and the receiver tell each other. */
export type ToReceiverThread = { type: 'listen'; port: number } | { type: 'answer'; id: number; status: number; headers: Record<string, string>; delayMs: number } | { type: 'close' }
export type FromReceiverThread =
  | { type: 'listening'; port: number }
  | { type: 'call'; id: number; headers: IncomingHttpHeaders; rawBody: string; receivedAt: number; inFlight: number }
  | { type: 'answered'; id: number }
  | { type: 'closed' }

/**
 * A real HTTP server standing in for the notification downstream: it records
 * every call and the most calls it ever had in flight at once. The server runs
 * on a thread of its own (webhook-receiver-thread.ts), so that arrival times
 * and the count in flight are those of the moment, not of whenever a busy test
 * process gets to them; the behaviour is asked here, once per call.
 */
export class WebhookReceiver {
  readonly calls: WebhookCall[] = []
  behaviour: WebhookBehaviour = { delayMs: 0, status: () => 200 }
  inFlight = 0
  maxInFlight = 0
  readonly #thread = new Worker(new URL('./webhook-receiver-thread.ts', import.meta.url))
  readonly #answering = new Map<number, Omit<WebhookCall, 'status'>>()
  readonly #statuses = new Map<number, number>()

  constructor() {
    this.#thread.on('message', (message: FromReceiverThread) => {
      if (message.type === 'call') {
        const { headers, rawBody, receivedAt } = message
        const received = { headers, rawBody, body: JSON.parse(rawBody) as WebhookCall['body'], receivedAt }
        this.inFlight++
        this.maxInFlight = Math.max(this.maxInFlight, message.inFlight, this.inFlight)
        this.#answering.set(message.id, received)
        // The status first, then the delay, in one go: a behaviour may pick the delay along with the status.
        const status = this.behaviour.status(received)
        this.#send({ type: 'answer', id: message.id, status, headers: this.behaviour.headers?.(received) ?? {}, delayMs: this.behaviour.delayMs })
        this.#statuses.set(message.id, status)
      } else if (message.type === 'answered') {
        const received = this.#answering.get(message.id)
        const status = this.#statuses.get(message.id)
        this.#answering.delete(message.id)
        this.#statuses.delete(message.id)
        this.inFlight--
        if (received && status !== undefined) this.calls.push({ ...received, status })
      }
    })
    // Like a server that is not listening yet, the thread keeps the process alive only once it listens.
    this.#thread.unref()
  }

  #send(message: ToReceiverThread): void {
    this.#thread.postMessage(message)
  }

  #next<T extends FromReceiverThread['type']>(type: T): Promise<Extract<FromReceiverThread, { type: T }>> {
    return new Promise((resolve, reject) => {
      const onMessage = (message: FromReceiverThread): void => {
        if (message.type !== type) return
        this.#thread.off('message', onMessage)
        this.#thread.off('error', reject)
        resolve(message as Extract<FromReceiverThread, { type: T }>)
      }
      this.#thread.on('message', onMessage)
      this.#thread.once('error', reject)
    })
  }

  /** Listens on 127.0.0.1 (port 0: any free port); resolves to the URL to post to. */
  async listen(port = 0): Promise<string> {
    const listening = this.#next('listening')
    this.#thread.ref()
    this.#send({ type: 'listen', port })
    return `http://127.0.0.1:${(await listening).port}/hook`
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
    const closed = this.#next('closed')
    this.#send({ type: 'close' })
    await closed
    await this.#thread.terminate()
  }
}
