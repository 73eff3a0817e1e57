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

/** Whether anything still answers at `baseUrl` (a stopped app refuses the connection). */
export const answersAt = (baseUrl: string): Promise<'answered' | 'refused'> =>
  fetch(`${baseUrl}/tasks`).then(
    () => 'answered',
    () => 'refused',
  )
