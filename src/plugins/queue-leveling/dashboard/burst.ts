/**
 * The dashboard's burst control: N task creates sent to the local API by a few
 * concurrent senders, as `npm run burst` does, with a token of the local
 * issuer. When the app trusts another issuer the dashboard has no way to get
 * its tokens, so the control says so and sends nothing.
 */
export const MAX_BURST = 2000
const DEFAULT_CONCURRENCY = 8

export interface BurstState {
  available: boolean
  /** Why not, when it is not available. */
  reason?: string
  running: boolean
  count: number
  sent: number
  accepted: number
  failed: number
  /** Median time the API took to accept a create, ms. */
  p50Ms: number | null
  startedAt: number | null
  finishedAt: number | null
}

export interface BurstOptions {
  /** The local API, e.g. http://127.0.0.1:3333. */
  apiUrl: string
  /** A fresh bearer token, or the reason there is none. */
  token: { mint: () => Promise<string> } | { unavailable: string }
}

export class BurstRefused extends Error {
  override readonly name = 'BurstRefused'
}

export class Burst {
  readonly #options: BurstOptions
  readonly #abort = new AbortController()
  #running = false
  #count = 0
  #sent = 0
  #accepted = 0
  #failed = 0
  #latencies: number[] = []
  #startedAt: number | null = null
  #finishedAt: number | null = null

  constructor(options: BurstOptions) {
    this.#options = options
  }

  state(): BurstState {
    const token = this.#options.token
    const sorted = [...this.#latencies].sort((a, b) => a - b)
    return {
      available: 'mint' in token,
      ...('unavailable' in token && { reason: token.unavailable }),
      running: this.#running,
      count: this.#count,
      sent: this.#sent,
      accepted: this.#accepted,
      failed: this.#failed,
      p50Ms: sorted.length ? Math.round(sorted[Math.floor((sorted.length - 1) / 2)] ?? 0) : null,
      startedAt: this.#startedAt,
      finishedAt: this.#finishedAt,
    }
  }

  /** Starts a burst of `count` creates and returns at once; `done` settles when every request has been answered. */
  async start(count: number): Promise<{ done: Promise<void> }> {
    const token = this.#options.token
    if ('unavailable' in token) throw new BurstRefused(token.unavailable)
    if (this.#running) throw new BurstRefused('A burst is still being sent: wait for it to end')
    if (!Number.isInteger(count) || count < 1 || count > MAX_BURST) throw new BurstRefused(`count must be a whole number from 1 to ${MAX_BURST}`)
    const bearer = await token.mint()
    this.#running = true
    this.#count = count
    this.#sent = this.#accepted = this.#failed = 0
    this.#latencies = []
    this.#startedAt = Date.now()
    this.#finishedAt = null
    let next = 0
    const sender = async (): Promise<void> => {
      while (next < count && !this.#abort.signal.aborted) {
        const index = next++
        const started = performance.now()
        try {
          const response = await fetch(`${this.#options.apiUrl}/tasks`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', authorization: `Bearer ${bearer}` },
            body: JSON.stringify({ title: `Dashboard burst task ${index + 1} of ${count}` }),
            signal: this.#abort.signal,
          })
          await response.arrayBuffer()
          this.#latencies.push(performance.now() - started)
          if (response.status === 201) this.#accepted++
          else this.#failed++
        } catch {
          this.#failed++
        }
        this.#sent++
      }
    }
    const done = Promise.all(Array.from({ length: Math.min(DEFAULT_CONCURRENCY, count) }, sender)).then(() => {
      this.#running = false
      this.#finishedAt = Date.now()
    })
    return { done }
  }

  /** Stops sending (the sandbox is ending). */
  stop(): void {
    this.#abort.abort()
  }
}
