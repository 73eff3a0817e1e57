/** The producer side: requests as the bench issues them, each one timed and timestamped. */
export interface RequestRecord {
  /** Which run it belongs to, e.g. `queue-slow-1`. */
  run: string
  index: number
  /** Epoch ms when it was issued. */
  at: number
  /** ms from the start of its burst when it was issued: the arrival schedule. */
  offsetMs: number
  latencyMs: number
  /** HTTP status, or 0 when no answer came. */
  status: number
  /** The created task's id (201 only). */
  taskId?: string
}

export interface Target {
  url: string
  method: 'GET' | 'POST'
  body?: (index: number) => unknown
  /** Sent with every request (the bearer token of an authenticated route). */
  headers?: Record<string, string>
}

export async function timedRequest(target: Target, index: number): Promise<{ status: number; latencyMs: number; body: unknown }> {
  const started = performance.now()
  try {
    const response = await fetch(target.url, {
      method: target.method,
      headers: { ...target.headers, ...(target.body && { 'content-type': 'application/json' }) },
      ...(target.body && { body: JSON.stringify(target.body(index)) }),
    })
    const text = await response.text()
    const latencyMs = performance.now() - started
    let body: unknown
    try {
      body = text ? JSON.parse(text) : undefined
    } catch {
      body = undefined
    }
    return { status: response.status, latencyMs, body }
  } catch {
    return { status: 0, latencyMs: performance.now() - started, body: undefined }
  }
}

function record(run: string, index: number, at: number, burstStart: number, result: { status: number; latencyMs: number; body: unknown }): RequestRecord {
  const id = result.status === 201 ? (result.body as { id?: unknown } | undefined)?.id : undefined
  const latencyMs = Math.round(result.latencyMs * 10) / 10
  return { run, index, at, offsetMs: at - burstStart, latencyMs, status: result.status, ...(typeof id === 'string' && { taskId: id }) }
}

export interface BurstObserver {
  sent: number
  done: number
}

/**
 * A closed-loop burst: `count` requests issued as fast as `concurrency` clients
 * allow, each client sending its next request as soon as its last is answered.
 * The issue times it records are the arrival schedule a replay reproduces.
 */
export async function closedLoopBurst(run: string, target: Target, count: number, concurrency: number, observer: BurstObserver): Promise<RequestRecord[]> {
  const records: RequestRecord[] = []
  const burstStart = Date.now()
  let next = 0
  await Promise.all(
    Array.from({ length: Math.min(concurrency, count) }, async () => {
      while (next < count) {
        const index = next++
        const at = Date.now()
        observer.sent++
        const result = await timedRequest(target, index)
        observer.done++
        records.push(record(run, index, at, burstStart, result))
      }
    }),
  )
  return records.sort((a, b) => a.index - b.index)
}

/**
 * An open-loop replay: request i is issued `offsets[i]` ms after the start,
 * whether or not the earlier ones have been answered, as independent clients
 * would arrive.
 */
export async function replaySchedule(run: string, target: Target, offsets: number[], observer: BurstObserver): Promise<RequestRecord[]> {
  const burstStart = Date.now()
  const pending = offsets.map(async (offset, index) => {
    const wait = burstStart + offset - Date.now()
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait))
    const at = Date.now()
    observer.sent++
    const result = await timedRequest(target, index)
    observer.done++
    return record(run, index, at, burstStart, result)
  })
  return Promise.all(pending)
}
