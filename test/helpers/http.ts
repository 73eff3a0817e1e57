/** A small JSON client for the API under test. */
export interface ApiResponse<Body = unknown> {
  status: number
  headers: Headers
  text: string
  body: Body
  ms: number
}

export interface RequestOptions {
  body?: unknown
  /** Sent as is, with no JSON encoding. */
  rawBody?: string | Buffer
  headers?: Record<string, string>
  /** Another bearer token for this request, or null for none. */
  token?: string | null
}

/** A client of the API at `baseUrl`, sending `token` as a bearer token unless a request sets its own Authorization (or none, with `token: null`). */
export function apiClient(baseUrl: string, token?: string) {
  return async function request<Body = any>(method: string, path: string, options: RequestOptions = {}): Promise<ApiResponse<Body>> {
    const bearer = options.token === null ? undefined : (options.token ?? token)
    const headers: Record<string, string> = { ...(bearer && { authorization: `Bearer ${bearer}` }), ...options.headers }
    let body: string | Buffer | undefined = options.rawBody
    if (options.body !== undefined) {
      body = JSON.stringify(options.body)
      headers['content-type'] ??= 'application/json'
    }
    const started = performance.now()
    const response = await fetch(`${baseUrl}${path}`, { method, headers, ...(body !== undefined && { body: new Uint8Array(body instanceof Buffer ? body : Buffer.from(body)) }) })
    const text = await response.text()
    const ms = performance.now() - started
    let parsed: unknown = undefined
    try {
      parsed = text ? JSON.parse(text) : undefined
    } catch {
      parsed = undefined
    }
    return { status: response.status, headers: response.headers, text, body: parsed as Body, ms }
  }
}

/** Runs `count` jobs with at most `concurrency` in flight; results in job order. */
export async function paced<T>(count: number, concurrency: number, job: (index: number) => Promise<T>): Promise<T[]> {
  const results: T[] = new Array(count)
  let next = 0
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) {
        const index = next++
        results[index] = await job(index)
      }
    }),
  )
  return results
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

/** Polls until `check` returns a value or the time is up. */
export async function waitFor<T>(what: string, check: () => Promise<T | undefined> | T | undefined, timeoutMs = 30_000, everyMs = 250): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await check()
    if (value !== undefined) return value
    if (Date.now() > deadline) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`)
    await sleep(everyMs)
  }
}

export { percentile } from '../../scripts/lib/stats.ts'
