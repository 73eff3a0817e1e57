import { readFile } from 'node:fs/promises'
import { SQSClient } from '@aws-sdk/client-sqs'
import { readQueueSettings, type QueueSettings } from 'arc-plugin-sqs-queues/settings'
import { type PortSet, queueDepth, ROOT, type WebhookBehaviour, type WebhookReceiver } from '../scripts/lib/harness/index.ts'
import { localConsumerTarget, pauseConsumer, resumeConsumer } from '../scripts/lib/consumer.ts'
import { account, timedOutDeliveries } from './accounting.ts'
import { productCopy, startApp, type RunningApp } from './apps.ts'
import type { BenchOptions } from './args.ts'
import { closedLoopBurst, timedRequest, type BurstObserver, type RequestRecord, type Target } from './load.ts'
import type { ConsumerReading, OutageRun, RateRun } from './leveling-summary.ts'
import type { Progress } from './progress.ts'
import { consumerOf, Sampler } from './sampler.ts'

/**
 * The adaptive-leveling phases of `npm run bench`, each on a fresh copy of
 * the app with the app's own `@queues` keys (started as `npm start` starts
 * it): the outage, once with the breaker and once with BREAKER_FAILURES=0,
 * and the rate cap. The consumer's invocations and pause come from the app's
 * own dashboard (GET /api/state); the figures from them, leveling-summary.ts.
 */
export interface LevelingContext {
  opts: BenchOptions
  ports: PortSet
  receiver: WebhookReceiver
  /** The webhook URL, its timeout and the retry base every bench app gets. */
  appEnv: Record<string, string>
  progress: Progress
  /** Apps to stop if the bench is interrupted. */
  running: Set<RunningApp>
  bearerOf(appDir: string): Promise<{ authorization: string }>
  createTarget(baseUrl: string, headers: Record<string, string>): Target
}

/** The `@queues notifications` keys of app.arc, as the sqs-queues plugin reads them: the leveling phases run the app as shipped. */
export async function appQueueSettings(): Promise<QueueSettings> {
  const { default: inventory } = await import('@architect/inventory')
  const { inv } = (await inventory({ cwd: ROOT })) as unknown as {
    inv: { _project: { arc: { queues?: Parameters<typeof readQueueSettings>[0]['queues']; aws?: unknown } }; queues?: { name: string; config: { timeout: number } }[] | null }
  }
  const consumerTimeouts = Object.fromEntries((inv.queues ?? []).map((queue) => [queue.name, queue.config.timeout]))
  const notifications = readQueueSettings({ queues: inv._project.arc.queues, aws: inv._project.arc.aws, consumerTimeouts }).find((queue) => queue.name === 'notifications')
  if (!notifications) throw new Error('app.arc has no @queues notifications')
  return notifications
}

/** The downstream up (answers at once) or down (every call a 503, no Retry-After: a service that is down behind its load balancer). */
const UP: WebhookBehaviour = { delayMs: 0, status: () => 200 }
const DOWN: WebhookBehaviour = { delayMs: 0, status: () => 503 }

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

async function until(check: () => Promise<boolean> | boolean, timeoutMs: number, everyMs = 250): Promise<boolean> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (await check()) return true
    await sleep(everyMs)
  }
  return false
}

interface Started {
  app: RunningApp
  dir: string
  queue: { sqs: SQSClient; queueUrl: string; dlqUrl: string }
  target: Target
  dashboardUrl: string
  /** The warm-up create, delivered before the run begins. */
  warmTaskId: string
  /** Index in the receiver's calls where this app's calls begin. */
  callsFrom: number
  stop(): Promise<void>
}

/** A fresh copy of the app with `env`, warmed up: one create delivered end to end before anything is measured. */
async function started(context: LevelingContext, name: string, env: Record<string, string>): Promise<Started> {
  const { ports, receiver, progress } = context
  receiver.behaviour = UP
  const callsFrom = receiver.calls.length
  const dir = await productCopy(name, {})
  progress.update(0.05, `starting a copy of the app (.tmp/bench/${name}, log .tmp/bench/${name}.log)`)
  const app = await startApp(name, dir, ports, { ...context.appEnv, ...env })
  context.running.add(app)
  const endpoint = `http://127.0.0.1:${ports.ARC_SQS_PORT}`
  const sqs = new SQSClient({ endpoint, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } })
  const target = context.createTarget(app.baseUrl, await context.bearerOf(dir))
  const warm = await timedRequest(target, -1)
  if (warm.status !== 201) throw new Error(`POST /tasks answered ${warm.status} on ${name} (see ${app.log})`)
  const warmTaskId = (warm.body as { id: string }).id
  if (!(await until(() => receiver.calls.slice(callsFrom).some((call) => call.body.taskId === warmTaskId && call.status === 200), 60_000))) {
    throw new Error(`${name}: the warm-up create was not delivered within 60 s (see ${app.log})`)
  }
  return {
    app,
    dir,
    queue: { sqs, queueUrl: `${endpoint}/000000000000/notifications`, dlqUrl: `${endpoint}/000000000000/notifications-dlq` },
    target,
    dashboardUrl: `http://127.0.0.1:${ports.DASHBOARD_PORT}`,
    warmTaskId,
    callsFrom,
    async stop() {
      sqs.destroy()
      context.running.delete(app)
      await app.stop()
    },
  }
}

/** The queue holds nothing: no message waiting, in flight or delayed, and no call under way at the downstream. */
async function empty(queue: Started['queue'], receiver: WebhookReceiver): Promise<boolean> {
  const depth = await queueDepth(queue.sqs, queue.queueUrl)
  return depth.visible + depth.inFlight + depth.delayed === 0 && receiver.inFlight === 0
}

async function reading(dashboardUrl: string): Promise<ConsumerReading> {
  const consumer = await consumerOf(dashboardUrl)
  return { at: Date.now(), batches: consumer.batches, inFlight: consumer.inFlight }
}

/** The breaker's openings in the app's log: the consumer logs each one at WARN ("Breaker opened"), which the bench apps print. */
const openingsIn = (log: string): number => log.split('\n').filter((line) => line.includes('"message":"Breaker opened"')).length

export async function runOutage(context: LevelingContext, variant: OutageRun['variant']): Promise<OutageRun & { requests: RequestRecord[] }> {
  const { opts, receiver, progress } = context
  const breakerFailures = variant === 'breaker' ? opts.breakerFailures : 0
  const name = `outage-${variant}`
  const app = await started(context, name, {
    BREAKER_FAILURES: String(breakerFailures),
    BREAKER_OPEN_SECONDS: String(opts.breakerOpenSeconds),
    BREAKER_MAX_OPEN_SECONDS: String(opts.breakerMaxOpenSeconds),
  })
  try {
    const producer: BurstObserver = { sent: 0, done: 0 }
    const sampler = new Sampler({ run: name, receiver, producer, queue: app.queue, dashboardUrl: app.dashboardUrl }, opts.intervalMs)
    sampler.start()
    const draw = (phase: string, fraction: number): void => {
      const latest = sampler.latest
      progress.update(
        fraction,
        `${phase}: sent ${producer.sent}/${opts.count}, queue ${(latest?.queueVisible ?? 0) + (latest?.queueInFlight ?? 0)} + ${latest?.queueDelayed ?? 0} delayed, ` +
          `DLQ ${latest?.dlqVisible ?? 0}, calls ${latest?.deliveriesTotal ?? 0}, ${latest?.consumer?.paused ? `paused (${latest.consumer.pausedBy ?? 'resuming'})` : 'receiving'}`,
      )
    }
    await sleep(opts.quietSeconds * 1000)
    const atDown = await reading(app.dashboardUrl)
    const downAt = Date.now()
    receiver.behaviour = DOWN
    sampler.markOrigin(downAt)
    const burst = closedLoopBurst(name, app.target, opts.count, opts.concurrency, producer)
    const upAt = downAt + opts.outageSeconds * 1000
    const timer = setInterval(() => draw('outage', (0.1 + (0.5 * (Date.now() - downAt)) / (upAt - downAt))), 250)
    let requests: RequestRecord[]
    let atUp: ConsumerReading
    try {
      requests = await burst
      await sleep(Math.max(0, upAt - Date.now() - 200))
      atUp = await reading(app.dashboardUrl)
      await sleep(Math.max(0, upAt - Date.now()))
    } finally {
      clearInterval(timer)
    }
    receiver.behaviour = UP
    const recovered = Date.now()
    const drainTimer = setInterval(() => draw('recovered, draining', 0.7), 250)
    let emptyAt: number | null = null
    try {
      if (await until(() => empty(app.queue, receiver), opts.maxDrainSeconds * 1000, 100)) emptyAt = Date.now()
    } finally {
      clearInterval(drainTimer)
    }
    // A little after, so the chart shows the end.
    await sleep(3000)
    const samples = await sampler.stop()
    progress.update(0.9, 'accounting: delivered once, in the DLQ, missing')
    const log = await readFile(app.app.log, 'utf8').catch(() => '')
    const calls = receiver.calls.slice(app.callsFrom)
    const accepted = [app.warmTaskId, ...requests.flatMap((request) => (request.taskId ? [request.taskId] : []))]
    const accounting = await account(accepted, calls, app.queue, timedOutDeliveries(log))
    return { variant, breakerFailures, downAt, upAt: recovered, emptyAt, atDown, atUp, openings: openingsIn(log), calls, accounting, samples, requests }
  } finally {
    await app.stop()
  }
}

export async function runRate(context: LevelingContext): Promise<RateRun & { requests: RequestRecord[] }> {
  const { opts, ports, receiver, progress } = context
  const app = await started(context, 'rate', { NOTIFY_WEBHOOK_MAX_PER_SECOND: String(opts.rateCap) })
  // The operator's pause, through npm run consumer's own code, holds the burst in the queue: the whole drain is then a backlog.
  const operator = await localConsumerTarget({ ARC_TABLES_PORT: String(ports.ARC_TABLES_PORT), ARC_SQS_PORT: String(ports.ARC_SQS_PORT), AWS_REGION: 'us-east-1' })
  try {
    const producer: BurstObserver = { sent: 0, done: 0 }
    const sampler = new Sampler({ run: 'rate', receiver, producer, queue: app.queue, dashboardUrl: app.dashboardUrl }, opts.intervalMs)
    sampler.start()
    await pauseConsumer(operator, 'npm run bench')
    if (!(await until(async () => (await operator.mapping.state()) === 'Disabled', 60_000))) throw new Error('the consumer did not pause within 60 s')
    progress.update(0.2, `paused; sending ${opts.count} creates`)
    const requests = await closedLoopBurst('rate', app.target, opts.count, opts.concurrency, producer)
    const accepted = requests.flatMap((request) => (request.taskId ? [request.taskId] : []))
    // Every accepted task's message in the queue (the producer publishes after it answers, or the relay does).
    await until(async () => (await queueDepth(app.queue.sqs, app.queue.queueUrl)).visible >= accepted.length, 60_000)
    const resumedAt = Date.now()
    sampler.markOrigin(resumedAt)
    await resumeConsumer(operator)
    const timer = setInterval(() => progress.update(0.5, `draining at NOTIFY_WEBHOOK_MAX_PER_SECOND ${opts.rateCap}: ${receiver.calls.filter((call) => call.receivedAt >= resumedAt).length}/${accepted.length} delivered`), 250)
    try {
      await until(() => empty(app.queue, receiver), opts.maxDrainSeconds * 1000)
    } finally {
      clearInterval(timer)
    }
    await sleep(2000)
    const samples = await sampler.stop()
    const log = await readFile(app.app.log, 'utf8').catch(() => '')
    const calls = receiver.calls.slice(app.callsFrom)
    const accounting = await account([app.warmTaskId, ...accepted], calls, app.queue, timedOutDeliveries(log))
    return { cap: opts.rateCap, resumedAt, calls: calls.filter((call) => call.receivedAt >= resumedAt), accounting, samples, requests }
  } finally {
    operator.close()
    await app.stop()
  }
}
