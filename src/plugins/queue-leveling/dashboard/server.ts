import { randomUUID } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import type { Message } from '@aws-sdk/client-sqs'
import type { BreakerStore } from '../../../lib/leveling/breaker-store.ts'
import type { ConsumerControl } from '../../../lib/leveling/consumer-control.ts'
import { ALL_CHANNELS } from '../../../lib/leveling/control.ts'
import { describeReconciled, levelingStatus, pauseConsumer, resumeConsumer } from '../../../lib/leveling/operator.ts'
import type { MappingSwitch } from '../../../lib/leveling/reconcile.ts'
import { countForPurge, describePurge, messageCounts, peekMessages, plural, purgeCounted, purgeQuestion, replayDlq, type DlqQueues } from 'arc-plugin-sqs-queues/dlq-operations'
import { localQueueEvents, type LocalQueueEvents } from 'arc-plugin-sqs-queues/local-events'
import { foreignRequestReason, fromOwnPage } from 'arc-plugin-sqs-queues/local-only'
import type { QueueSettings } from 'arc-plugin-sqs-queues/settings'
import { Burst, BurstRefused, type BurstOptions, type BurstState } from './burst.ts'
import { DashboardState, type Depth, type StateSnapshot } from './state.ts'

/**
 * The local dashboard: a page that watches the queue absorb a burst, live, and
 * the JSON behind it. Loopback only, and built so that another site open in
 * the same browser can neither read it (no CORS; the local-only guard refuses
 * a foreign Host, Origin or Sec-Fetch-Site) nor act through it (writes also
 * need their own page's Origin and a JSON body, which a cross-site form cannot
 * send; the page cannot be framed).
 */
export const DASHBOARD_DEFAULT_PORT = 3334

export function dashboardPort(env: NodeJS.ProcessEnv = process.env): number {
  const port = Number(env.DASHBOARD_PORT || DASHBOARD_DEFAULT_PORT)
  if (!Number.isInteger(port) || port < 1 || port > 65_535) throw new Error(`DASHBOARD_PORT must be a port number, got ${env.DASHBOARD_PORT}`)
  return port
}

export interface DashboardOptions {
  port: number
  queue: QueueSettings
  /** The local queue and its DLQ, and a client for them. */
  queues: DlqQueues
  /** Where the burst control sends its creates, and how it gets a token. */
  burst: BurstOptions
  /**
   * The consumer's pause and breakers, worked as `npm run consumer` works them
   * (src/lib/leveling/operator.ts): the breakers table, the event source
   * mapping, the control that reconciles them, and who pauses from here.
   */
  consumer: { control: ConsumerControl; store: BreakerStore; mapping: MappingSwitch; operator: string }
  events?: LocalQueueEvents
  /** How often an open page gets the state. */
  tickMs?: number
}

export interface Dashboard {
  url: string
  close(): Promise<void>
}

/** What the page gets every tick: the whole state, and the chart point it adds. */
export interface DashboardView extends StateSnapshot {
  burst: BurstState
  /** The outcome of the last peek, replay or purge. */
  dlqAction: { action: string; ok: boolean; message: string; at: number } | null
  /** The outcome of the last Pause or Resume. */
  consumerAction: { action: string; ok: boolean; message: string; at: number } | null
  /** Pages following the event stream (the dashboard polls the queues only while there are any). */
  watchers: number
}

export interface ChartPoint {
  /** Seconds since the epoch (uPlot's x). */
  t: number
  waiting: number
  inFlight: number
  dlq: number
  invocations: number
  maxConcurrency: number
  delivered: Record<string, number>
  failed: Record<string, number>
  p50: number | null
  p95: number | null
}

/**
 * How often an open page gets the state: a little more than once a second (the
 * spec's floor, with room for a late timer). Each update costs the browser a
 * repaint; twice as often cost the producer measurably more on a 2-core machine.
 */
export const TICK_MS = 900
/** Chart points kept and replayed to a page that opens: about nine minutes. */
const HISTORY_POINTS = 600
const MAX_BODY_BYTES = 4096
const PEEK_MAX = 50
const BODY_CHARS = 4000

const PAGE_DIR = join(import.meta.dirname, 'page')
const require = createRequire(import.meta.url)
const ASSETS: Record<string, { file: string; type: string }> = {
  '/': { file: join(PAGE_DIR, 'index.html'), type: 'text/html; charset=utf-8' },
  '/app.js': { file: join(PAGE_DIR, 'app.js'), type: 'text/javascript; charset=utf-8' },
  '/app.css': { file: join(PAGE_DIR, 'app.css'), type: 'text/css; charset=utf-8' },
  // The charting library from node_modules: the page works offline, with no CDN.
  '/vendor/uPlot.iife.min.js': { file: require.resolve('uplot/dist/uPlot.iife.min.js'), type: 'text/javascript; charset=utf-8' },
  '/vendor/uPlot.min.css': { file: require.resolve('uplot/dist/uPlot.min.css'), type: 'text/css; charset=utf-8' },
}

const SECURITY_HEADERS = {
  'X-Content-Type-Options': 'nosniff',
  'Cache-Control': 'no-store',
  'Referrer-Policy': 'no-referrer',
  // Its own scripts and styles only; nothing may frame it (a framed purge button is a click away from a purge).
  'Content-Security-Policy': "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
  'X-Frame-Options': 'DENY',
}

class HttpError extends Error {
  readonly status: number

  constructor(status: number, message: string) {
    super(message)
    this.status = status
  }
}

function send(response: ServerResponse, status: number, body: string | Buffer, type: string): void {
  response.writeHead(status, { ...SECURITY_HEADERS, 'Content-Type': type, 'Content-Length': Buffer.byteLength(body) }).end(body)
}
const sendJson = (response: ServerResponse, status: number, value: unknown): void => send(response, status, JSON.stringify(value), 'application/json; charset=utf-8')

const isJson = (type: string | undefined): boolean => /^application\/json\s*(;|$)/i.test(type ?? '')

async function readJson(request: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.length
    if (size > MAX_BODY_BYTES) throw new HttpError(413, 'Request body too large')
    chunks.push(chunk)
  }
  const text = Buffer.concat(chunks).toString('utf8')
  if (!text) return {}
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    throw new HttpError(400, 'The body is not JSON')
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new HttpError(400, 'The body must be a JSON object')
  return value as Record<string, unknown>
}

/** A DLQ message as the page lists it; the body is cut short so one huge message cannot bury the rest. */
function shown(message: Message): { id: string; event: string | null; receiveCount: number | null; sentAt: string | null; body: string } {
  const sent = Number(message.Attributes?.SentTimestamp)
  let body = message.Body ?? ''
  try {
    body = JSON.stringify(JSON.parse(body), null, 2)
  } catch {
    // Not JSON: shown as it is.
  }
  return {
    id: message.MessageId ?? '?',
    event: message.MessageAttributes?.event?.StringValue ?? null,
    receiveCount: message.Attributes?.ApproximateReceiveCount ? Number(message.Attributes.ApproximateReceiveCount) : null,
    sentAt: Number.isFinite(sent) ? new Date(sent).toISOString() : null,
    body: body.length > BODY_CHARS ? `${body.slice(0, BODY_CHARS)}… (${body.length - BODY_CHARS} more characters)` : body,
  }
}

/** Waiting (visible) and in-flight messages, as SQS counts them (the local queue counts the same way). */
async function depth(queues: DlqQueues, url: string): Promise<Depth> {
  const counts = await messageCounts(queues.sqs, url)
  return { waiting: counts.messages, inFlight: counts.inFlight }
}

export async function startDashboard(options: DashboardOptions): Promise<Dashboard> {
  const { port, queues, consumer } = options
  const assets = new Map(await Promise.all(Object.entries(ASSETS).map(async ([path, asset]) => [path, { body: await readFile(asset.file), type: asset.type }] as const)))
  const state = new DashboardState(options.queue)
  state.subscribe(options.events ?? localQueueEvents)
  const burst = new Burst(options.burst)
  const clients = new Set<ServerResponse>()
  const history: ChartPoint[] = []
  let dlqAction: DashboardView['dlqAction'] = null
  let consumerAction: DashboardView['consumerAction'] = null
  let switching = false
  let dlqBusy = false
  /** The ids the last purge count found, until the operator confirms them (or counts again). */
  let purgePlan: { plan: string; ids: string[] } | undefined
  let ticker: NodeJS.Timeout | undefined
  let ticking: Promise<void> | undefined

  /** What is not an event: the queues' depths, the breakers and the pause (the breakers table), the mapping's State. */
  const refresh = async (): Promise<void> => {
    const [queue, dlq, leveling, mapping] = await Promise.all([
      depth(queues, queues.queue.url),
      depth(queues, queues.dlq.url),
      consumer.store.read(ALL_CHANNELS),
      consumer.mapping.state(),
    ])
    state.setDepths(queue, dlq)
    state.setLeveling(levelingStatus(leveling, ALL_CHANNELS), mapping)
  }
  const current = (): DashboardView => ({ ...state.snapshot(), burst: burst.state(), dlqAction, consumerAction, watchers: clients.size })
  const pointOf = (now: DashboardView): ChartPoint => {
    const byChannel = (key: 'perSecond' | 'failedPerSecond'): Record<string, number> =>
      Object.fromEntries(Object.entries(now.deliveries.byChannel).map(([channel, figures]) => [channel, figures[key]]))
    return {
      t: now.at / 1000,
      waiting: now.queue.waiting,
      inFlight: now.queue.inFlight,
      dlq: now.dlq.waiting + now.dlq.inFlight,
      invocations: now.consumer.inFlight,
      maxConcurrency: now.consumer.maxConcurrency,
      delivered: byChannel('perSecond'),
      failed: byChannel('failedPerSecond'),
      p50: now.deliveries.latency.p50,
      p95: now.deliveries.latency.p95,
    }
  }

  /** One update for every open page: fresh depths, the state, and the point it adds to the charts. */
  const tick = (): Promise<void> =>
    (ticking ??= (async () => {
      try {
        await refresh()
      } catch {
        // The local servers are going away (sandbox ending): the page keeps the last figures.
      }
      const now = current()
      const point = pointOf(now)
      history.push(point)
      if (history.length > HISTORY_POINTS) history.shift()
      const frame = `data: ${JSON.stringify({ state: now, point })}\n\n`
      for (const client of clients) client.write(frame)
    })().finally(() => (ticking = undefined)))

  const watch = (response: ServerResponse): void => {
    response.writeHead(200, { ...SECURITY_HEADERS, 'Content-Type': 'text/event-stream; charset=utf-8', Connection: 'keep-alive' })
    response.write(`retry: 1000\nevent: history\ndata: ${JSON.stringify(history)}\n\n`)
    clients.add(response)
    // Ticks run only while a page is open: with none, the dashboard costs the running app nothing but its event listener.
    ticker ??= setInterval(() => void tick(), options.tickMs ?? TICK_MS)
    void tick()
    // The response's close: the page went away (its connection ended), or the server is closing.
    response.once('close', () => {
      clients.delete(response)
      if (clients.size === 0 && ticker) {
        clearInterval(ticker)
        ticker = undefined
      }
    })
  }

  /** One DLQ operation at a time: a purge must not count while a replay moves the messages, say. */
  const exclusively = async <T>(run: () => Promise<T>): Promise<T> => {
    if (dlqBusy) throw new HttpError(409, 'Another DLQ operation is under way: wait for it to end')
    dlqBusy = true
    try {
      return await run()
    } finally {
      dlqBusy = false
    }
  }

  const dlqOperation = async (action: string, run: () => Promise<{ ok: boolean; message: string; messages?: unknown[] }>): Promise<unknown> => {
    try {
      const result = await exclusively(run)
      dlqAction = { action, ok: result.ok, message: result.message, at: Date.now() }
      return result
    } finally {
      // Every open page sees the outcome at once, not at the next tick.
      if (clients.size) await tick()
    }
  }

  /** Pause or Resume: the same calls as `npm run consumer -- pause|resume`, one at a time; every page sees the outcome. */
  const switchConsumer = async (action: 'pause' | 'resume'): Promise<{ ok: boolean; message: string }> => {
    if (switching) throw new HttpError(409, 'A pause or resume is under way: wait for it to end')
    switching = true
    try {
      const result = action === 'pause' ? await pauseConsumer(consumer, consumer.operator) : await resumeConsumer(consumer)
      consumerAction = { action, ok: true, message: describeReconciled(action, result), at: Date.now() }
    } catch (error) {
      consumerAction = { action, ok: false, message: `The ${action} failed: ${error instanceof Error ? error.message : String(error)}`, at: Date.now() }
    } finally {
      switching = false
      if (clients.size) await tick()
    }
    return { ok: consumerAction.ok, message: consumerAction.message }
  }

  const actions: Record<string, (body: Record<string, unknown>) => Promise<unknown>> = {
    '/api/consumer/pause': () => switchConsumer('pause'),
    '/api/consumer/resume': () => switchConsumer('resume'),
    '/api/dlq/peek': (body) =>
      dlqOperation('peek', async () => {
        const max = body.max === undefined ? 10 : Number(body.max)
        if (!Number.isInteger(max) || max < 1 || max > PEEK_MAX) throw new HttpError(400, `max must be a whole number from 1 to ${PEEK_MAX}`)
        const messages = (await peekMessages(queues, max)).map(shown)
        const message = messages.length
          ? `${plural(messages.length, 'message')} shown; every one is back in ${queues.dlq.name} (peeking counts as a receive).`
          : `${queues.dlq.name} is empty.`
        return { ok: true, message, messages }
      }),
    '/api/dlq/replay': () =>
      dlqOperation('replay', async () => {
        const result = await replayDlq(queues)
        if (result.status === 'empty') {
          return { ok: true, message: `${queues.dlq.name} has no messages to replay${result.inFlight ? ` (${result.inFlight} in flight: try again when they are visible)` : ''}.` }
        }
        const { task } = result
        if (task.Status === 'COMPLETED') return { ok: true, message: `Moved ${plural(task.ApproximateNumberOfMessagesMoved ?? 0, 'message')} from ${queues.dlq.name} to ${queues.queue.name}.` }
        return { ok: false, message: `The move task ended ${task.Status}${task.FailureReason ? `: ${task.FailureReason}` : ''}; the messages not moved are still in ${queues.dlq.name}.` }
      }),
    // A purge is two requests, as `npm run dlq -- purge` is two steps: count (the page asks the operator), then delete what was counted.
    '/api/dlq/purge/count': () =>
      exclusively(async () => {
        const count = await countForPurge(queues)
        purgePlan = count.ids.length ? { plan: randomUUID(), ids: count.ids } : undefined
        return { plan: purgePlan?.plan ?? null, count: count.ids.length, inFlight: count.inFlight, delayed: count.delayed, question: purgeQuestion(queues.dlq.name, count) }
      }),
    '/api/dlq/purge': (body) =>
      dlqOperation('purge', async () => {
        // Only the ids of the count the operator confirmed, and only once.
        if (typeof body.plan !== 'string' || body.plan !== purgePlan?.plan) {
          throw new HttpError(409, 'No such purge count (another page counted since, or it was used): count again and confirm')
        }
        const { ids } = purgePlan
        purgePlan = undefined
        const result = await purgeCounted(queues, ids)
        return { ok: result.missed === 0, message: describePurge(queues.dlq.name, result) }
      }),
    '/api/burst': async (body) => {
      try {
        await burst.start(Number(body.count))
      } catch (error) {
        if (error instanceof BurstRefused) throw new HttpError(409, error.message)
        throw error
      }
      if (clients.size) await tick()
      return burst.state()
    },
  }

  const handle = async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    // Every request, read or write: the local-only guard shared by the project's local servers.
    const foreign = foreignRequestReason(request)
    if (foreign !== undefined) throw new HttpError(403, foreign)
    const path = new URL(request.url ?? '/', `http://127.0.0.1:${port}`).pathname
    if (request.method === 'GET' || request.method === 'HEAD') {
      const asset = assets.get(path)
      if (asset) return send(response, 200, asset.body, asset.type)
      if (path === '/api/state') {
        await refresh()
        return sendJson(response, 200, current())
      }
      if (path === '/api/events') return watch(response)
      throw new HttpError(404, 'Not Found')
    }
    const action = actions[path]
    if (request.method !== 'POST' || !action) throw new HttpError(request.method === 'POST' ? 404 : 405, request.method === 'POST' ? 'Not Found' : 'Method Not Allowed')
    // Browsers send Origin on every POST; a client without it is refused too (curl can send one when it means to).
    if (!fromOwnPage(request)) throw new HttpError(403, 'Cross-origin request refused: writes come from the dashboard page only')
    if (!isJson(request.headers['content-type'])) throw new HttpError(415, 'Content-Type must be application/json')
    sendJson(response, 200, await action(await readJson(request)))
  }

  const server: Server = createServer((request, response) => {
    handle(request, response).catch((error: unknown) => {
      if (response.headersSent) return response.end()
      if (error instanceof HttpError) return sendJson(response, error.status, { message: error.message })
      sendJson(response, 500, { message: error instanceof Error ? error.message : String(error) })
    })
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) =>
      reject(error.code === 'EADDRINUSE' ? new Error(`Dashboard port ${port} is busy: free it, or set DASHBOARD_PORT to a free port`) : error),
    )
    server.listen(port, '127.0.0.1', () => resolve())
  })

  return {
    url: `http://localhost:${port}`,
    async close() {
      if (ticker) clearInterval(ticker)
      ticker = undefined
      burst.stop()
      state.close()
      for (const client of clients) client.end()
      clients.clear()
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
      await ticking
    },
  }
}
