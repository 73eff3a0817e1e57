/**
 * The soak run's producer: `count` POST /tasks on a fixed schedule (`rate` per
 * second), never more than `concurrency` in flight; when the API falls behind,
 * requests start late rather than pile up, and the lag is measured.
 */
export interface ProducerOptions {
  baseUrl: string
  count: number
  rate: number
  concurrency: number
  requestTimeoutMs: number
  /** Sent with every request: the caller's Authorization. */
  headers: Record<string, string>
  /** The title of request `index`. */
  title: (index: number) => string
}

export interface ProducerStats {
  sent: number
  done: number
  accepted: number
  clientErrors: number
  serverErrors: number
  networkErrors: number
  /** Answers other than 201 and 4xx/5xx (e.g. a 200 or 3xx), or a 201 without a task id. */
  otherAnswers: number
  byStatus: Record<string, number>
  /** Latency of each 2xx answer, ms. */
  acceptedLatencies: number[]
  /** Latency of every answer (any status), ms. */
  allLatencies: number[]
  maxInFlight: number
  /** How late the latest request started against its slot in the schedule, at worst, ms. */
  maxLagMs: number
  /** The first few distinct error descriptions, for the report. */
  errorSamples: string[]
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

export class Producer {
  readonly stats: ProducerStats = {
    sent: 0,
    done: 0,
    accepted: 0,
    clientErrors: 0,
    serverErrors: 0,
    networkErrors: 0,
    otherAnswers: 0,
    byStatus: {},
    acceptedLatencies: [],
    allLatencies: [],
    maxInFlight: 0,
    maxLagMs: 0,
    errorSamples: [],
  }
  /** Task ids from the 201 answers, in request order. */
  readonly acceptedIds: string[] = []
  readonly #options: ProducerOptions
  readonly #inFlight = new Set<Promise<void>>()

  constructor(options: ProducerOptions) {
    this.#options = options
  }

  get inFlight(): number {
    return this.#inFlight.size
  }

  async run(): Promise<void> {
    const { count, rate, concurrency } = this.#options
    const startedAt = performance.now()
    for (let index = 0; index < count; index++) {
      const due = startedAt + (index * 1000) / rate
      const wait = due - performance.now()
      if (wait > 0) await sleep(wait)
      while (this.#inFlight.size >= concurrency) await Promise.race(this.#inFlight)
      this.stats.maxLagMs = Math.max(this.stats.maxLagMs, performance.now() - due)
      const request: Promise<void> = this.#send(index).finally(() => this.#inFlight.delete(request))
      this.#inFlight.add(request)
      this.stats.sent++
      this.stats.maxInFlight = Math.max(this.stats.maxInFlight, this.#inFlight.size)
    }
    await Promise.all(this.#inFlight)
  }

  #sample(raw: string): void {
    // An HTML error page (sandbox's own) says little but its text: drop markup, styles and blank space.
    const description = raw
      .replace(/<(style|script)[\s\S]*?<\/\1>/gi, ' ')
      .replace(/<[^>]*>?/g, ' ')
      .replace(/\s+/g, ' ')
      .trim()
      .slice(0, 160)
    if (this.stats.errorSamples.length < 10 && !this.stats.errorSamples.includes(description)) this.stats.errorSamples.push(description)
  }

  async #send(index: number): Promise<void> {
    const { baseUrl, requestTimeoutMs, headers, title } = this.#options
    const started = performance.now()
    try {
      const response = await fetch(`${baseUrl}/tasks`, {
        method: 'POST',
        headers: { ...headers, 'content-type': 'application/json' },
        body: JSON.stringify({ title: title(index) }),
        signal: AbortSignal.timeout(requestTimeoutMs),
      })
      const text = await response.text()
      const ms = performance.now() - started
      const { status } = response
      this.stats.byStatus[status] = (this.stats.byStatus[status] ?? 0) + 1
      this.stats.allLatencies.push(ms)
      if (status >= 200 && status < 300) {
        this.stats.acceptedLatencies.push(ms)
        let id: unknown
        try {
          id = (JSON.parse(text) as { id?: unknown }).id
        } catch {
          id = undefined
        }
        if (status === 201 && typeof id === 'string') {
          this.stats.accepted++
          this.acceptedIds.push(id)
        } else {
          this.stats.otherAnswers++
          this.#sample(`${status} ${text.slice(0, 2000)}`)
        }
      } else if (status >= 400 && status < 500) {
        this.stats.clientErrors++
        this.#sample(`${status} ${text.slice(0, 2000)}`)
      } else if (status >= 500) {
        this.stats.serverErrors++
        this.#sample(`${status} ${text.slice(0, 2000)}`)
      } else {
        this.stats.otherAnswers++
        this.#sample(`${status} ${text.slice(0, 2000)}`)
      }
    } catch (error) {
      this.stats.networkErrors++
      const cause = error instanceof Error && error.cause instanceof Error ? `: ${error.cause.message}` : ''
      this.#sample(`network: ${error instanceof Error ? `${error.name} ${error.message}` : String(error)}${cause}`)
    } finally {
      this.stats.done++
    }
  }
}

export function percentile(values: number[], p: number): number {
  if (values.length === 0) return Number.NaN
  const sorted = [...values].sort((a, b) => a - b)
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))
  return sorted[index] as number
}
