import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { queueDepth, ROOT, type QueueDepth, type SandboxApp } from './lib/harness/index.ts'
import { parseSoakArgs, type SoakOptions } from './lib/soak-args.ts'
import { LATE_GUARD_MS, SoakDownstream } from './lib/soak-downstream.ts'
import { AppLogCapture, say } from './lib/soak-log.ts'
import { Producer, percentile } from './lib/soak-producer.ts'
import { deliveryEvidence, listAllTaskIds, readDlq, reconcile, type DlqEntry, type Reconciliation } from './lib/soak-reconcile.ts'
import { formatSummary, producerFigures, verdict, type SoakResult } from './lib/soak-report.ts'
import { soakPorts, startSoakApp } from './lib/soak-app.ts'
import { WebhookReceiver } from './lib/harness/index.ts'

// `npm run soak -- --count 2000 --rate 4 --fail-rate 0.2 --seed 42`: starts the
// app (a copy under .tmp/soak, ports + 600), a flaky and sometimes slow webhook
// downstream, sends creates at a steady rate, waits for the queue to drain and
// reconciles: every created task delivered once or parked in the DLQ.
// Exits 0 only when nothing is missing and nothing was delivered twice.

let options: SoakOptions
try {
  options = parseSoakArgs(process.argv.slice(2))
} catch (error) {
  say(error instanceof Error ? error.message : String(error))
  process.exit(2)
}

process.env.LOCAL_SCHEDULE_SECONDS = String(options.relaySeconds)
const PORTS = soakPorts(options.portOffset)

const QUEUE = { visibilityTimeout: 10, maxReceiveCount: 3 }
const CONSUMER_TIMEOUT_SECONDS = 8
const APP_NAME = 'soak'
const RESULT_FILE = join(ROOT, '.tmp', 'soak-result.json')
const LOG_FILE = join(ROOT, '.tmp', 'soak-sandbox.log')
const DRAIN_SAMPLE_MS = 2000

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))
const since = (startedAt: number): number => (Date.now() - startedAt) / 1000
const pad = (value: number | string, width: number): string => String(value).padStart(width)

await mkdir(join(ROOT, '.tmp'), { recursive: true })
const capture = new AppLogCapture(LOG_FILE)
const receiver = new WebhookReceiver()
const downstream = new SoakDownstream(options)
receiver.behaviour = downstream
let app: SandboxApp | undefined
let stopping = false

async function shutdown(): Promise<void> {
  if (stopping) return
  stopping = true
  await app?.stop().catch((error: unknown) => say(`stopping the app: ${String(error)}`))
  await receiver.close().catch(() => undefined)
  await capture.close()
}

/**
 * Ctrl-C stops the app before exiting, with a failing exit code. Architect's
 * updater has its own SIGINT listener that exits at once with code 0; it goes.
 */
function takeOverSignals(): void {
  for (const listener of process.listeners('SIGINT')) {
    if (listener.name === '_arcRestoreCursor') process.removeListener('SIGINT', listener)
  }
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    if (process.listeners(signal).includes(onSignal)) continue
    process.on(signal, onSignal)
  }
}

function onSignal(signal: NodeJS.Signals): void {
  if (stopping) return
  say(`\n${signal}: stopping the app`)
  shutdown().finally(() => process.exit(signal === 'SIGINT' ? 130 : 143))
}
takeOverSignals()

/** `@queues notifications` keys of an app.arc. */
function queueKeys(manifest: string): Record<string, number> {
  const section = /^@queues\s*$([\s\S]*?)(?=^@|(?![\s\S]))/m.exec(manifest)?.[1] ?? ''
  const keys: Record<string, number> = {}
  for (const match of section.matchAll(/^\s+(\w+)\s+(\d+)\b/gm)) keys[match[1] as string] = Number(match[2])
  return keys
}

async function depths(): Promise<{ queue: QueueDepth; dlq: QueueDepth } | undefined> {
  if (!app) return undefined
  try {
    const [queue, dlq] = await Promise.all([queueDepth(app.sqs, app.queueUrl), queueDepth(app.sqs, app.dlqUrl)])
    return { queue, dlq }
  } catch {
    return undefined
  }
}

const deliveredSoFar = (): number => new Set(receiver.deliveredIds()).size

async function main(): Promise<number> {
  const startedAt = Date.now()
  const webhookUrl = await receiver.listen(0)
  const env = {
    NOTIFY_WEBHOOK_URL: webhookUrl,
    NOTIFY_WEBHOOK_TIMEOUT_MS: String(options.webhookTimeoutMs),
    RETRY_BASE_SECONDS: '1',
    RETRY_MAX_SECONDS: '8',
    POWERTOOLS_LOG_LEVEL: 'WARN',
  }
  say(`soak: seed ${options.seed}`)
  say(
    `soak: ${options.count} creates at ${options.rate}/s (at most ${options.concurrency} in flight); downstream ${webhookUrl}: ` +
      `503 at ${options.failRate}, slow at ${options.slowRate} (${downstream
        .slowRanges()
        .map(([from, to]) => `${from}-${to} ms`)
        .join(' or ')}; none within ${LATE_GUARD_MS} ms below the ${options.webhookTimeoutMs} ms timeout), ` +
      `${options.brownouts} brownout(s) of ${options.brownoutSeconds} s at ${options.brownoutMs} ms`,
  )
  say(`soak: starting the app (a copy under .tmp/test-apps) on port ${PORTS.PORT} (SQS ${PORTS.ARC_SQS_PORT}, tables ${PORTS.ARC_TABLES_PORT}); app output: ${LOG_FILE}`)
  capture.install()
  app = await startSoakApp({ name: APP_NAME, queue: QUEUE, consumerTimeout: CONSUMER_TIMEOUT_SECONDS, env, ports: PORTS })
  takeOverSignals()
  const keys = queueKeys(await readFile(join(app.cwd, 'app.arc'), 'utf8'))
  const bound = (keys.maxConcurrency ?? 2) * (keys.batchSize ?? 10)
  // One token for the whole run, valid past its longest planned end: every request acts as one caller, whose tasks the listing sees.
  const ttlSeconds = Math.ceil(options.count / options.rate + options.drainTimeoutSeconds + 3600)
  const auth = { authorization: `Bearer ${await app.mint({ sub: 'soak', ttlSeconds })}` }
  await fetch(`${app.sandboxUrl}/tasks?limit=1`, { headers: auth }).then((response) => response.arrayBuffer())
  const startupSeconds = since(startedAt)
  say(
    `soak: app up in ${startupSeconds.toFixed(1)} s; queue ${Object.entries(keys)
      .map(([key, value]) => `${key} ${value}`)
      .join(', ')}; consumer timeout ${CONSUMER_TIMEOUT_SECONDS} s; bound ${bound} deliveries in flight`,
  )

  // Brownouts spread evenly over the planned send phase.
  const sendStartedAt = Date.now()
  const plannedMs = (options.count * 1000) / options.rate
  downstream.brownoutWindows = Array.from({ length: options.brownouts }, (_, index) => {
    const from = sendStartedAt + Math.round((plannedMs * (index + 1)) / (options.brownouts + 1))
    return { from, to: from + options.brownoutSeconds * 1000 }
  })

  const producer = new Producer({
    baseUrl: app.sandboxUrl,
    count: options.count,
    rate: options.rate,
    concurrency: options.concurrency,
    requestTimeoutMs: options.requestTimeoutMs,
    headers: auth,
    title: (index) => `soak ${options.seed} #${index + 1}`,
  })
  let sampling = false
  const progress = async (phase: string): Promise<{ queue: QueueDepth; dlq: QueueDepth } | undefined> => {
    const seen = await depths()
    const s = producer.stats
    const depth = seen
      ? `queue ${pad(seen.queue.visible, 4)} waiting ${pad(seen.queue.inFlight, 3)} in flight  DLQ ${pad(seen.dlq.visible, 3)}`
      : 'queue ?'
    const brownout = downstream.inBrownout(Date.now()) ? '  [brownout]' : ''
    say(
      `${pad(since(sendStartedAt).toFixed(0), 4)}s ${phase}  sent ${pad(s.sent, 5)}/${options.count}  accepted ${pad(s.accepted, 5)}` +
        ` (4xx ${s.clientErrors}, 5xx ${s.serverErrors}, err ${s.networkErrors}, p95 ${percentile(s.acceptedLatencies, 95).toFixed(0)} ms)` +
        `  ${depth}  delivered ${pad(deliveredSoFar(), 5)}  downstream ${pad(receiver.inFlight, 2)} in flight (peak ${receiver.maxInFlight})${brownout}`,
    )
    return seen
  }
  const ticker = setInterval(() => {
    if (sampling) return
    sampling = true
    progress('send ').finally(() => (sampling = false))
  }, options.progressSeconds * 1000)
  await producer.run()
  clearInterval(ticker)
  const sendSeconds = since(sendStartedAt)
  say(`soak: all ${options.count} sent in ${sendSeconds.toFixed(1)} s; waiting for the queue to drain (at most ${options.drainTimeoutSeconds} s)`)

  // Reconciles what the app and the downstream show now: tasks listed, DLQ read, downstream calls.
  const probe = async () => {
    let listed: { ids: string[]; pages: number } | undefined
    try {
      listed = await listAllTaskIds((app as SandboxApp).sandboxUrl, auth)
    } catch (error) {
      say(`soak: GET /tasks listing failed: ${error instanceof Error ? error.message : String(error)}`)
    }
    let dlq: DlqEntry[] = []
    try {
      dlq = await readDlq((app as SandboxApp).sqs, (app as SandboxApp).dlqUrl)
    } catch (error) {
      say(`soak: reading the DLQ failed: ${error instanceof Error ? error.message : String(error)}`)
    }
    return reconcile({
      acceptedIds: producer.acceptedIds,
      listedIds: listed?.ids,
      listedPages: listed?.pages,
      calls: receiver.calls,
      noteOf: (call) => downstream.noteOf(call),
      failuresOf: (notificationId) => capture.deliveryFailures.get(notificationId) ?? [],
      invocationFailures: capture.invocationFailures,
      consumerTimeoutMs: CONSUMER_TIMEOUT_SECONDS * 1000,
      dlq,
    })
  }

  // Drained: nothing visible or in flight and nothing at the downstream for drainSamples samples in
  // a row, and every created task accounted for. A task whose event still sits in its outbox (its
  // publish failed) comes out with the relay: while some are unaccounted for, wait for it a while.
  const drainStartedAt = Date.now()
  const relayGraceMs = 6 * options.relaySeconds * 1000
  let emptyStreak = 0
  let emptySince: number | undefined
  let lastProbe = 0
  let drained = false
  let lastPrinted = 0
  let reconciliation: Reconciliation | undefined
  while (since(drainStartedAt) < options.drainTimeoutSeconds) {
    await sleep(DRAIN_SAMPLE_MS)
    const print = Date.now() - lastPrinted >= options.progressSeconds * 1000
    const seen = print ? await progress('drain') : await depths()
    if (print) lastPrinted = Date.now()
    const empty = seen !== undefined && seen.queue.visible + seen.queue.inFlight === 0 && receiver.inFlight === 0
    emptyStreak = empty ? emptyStreak + 1 : 0
    if (!empty) emptySince = undefined
    else emptySince ??= Date.now()
    if (emptyStreak < options.drainSamples || emptySince === undefined || Date.now() - lastProbe < options.relaySeconds * 1000) continue
    lastProbe = Date.now()
    reconciliation = await probe()
    if (reconciliation.missing.length === 0) {
      drained = true
      break
    }
    if (Date.now() - emptySince > relayGraceMs) {
      say(`soak: queue empty for ${since(emptySince).toFixed(0)} s, ${reconciliation.missing.length} created task(s) still unaccounted for; reconciling anyway`)
      drained = true
      break
    }
    say(`soak: queue empty, ${reconciliation.missing.length} created task(s) not yet delivered nor in the DLQ: waiting for the outbox relay (every ${options.relaySeconds} s)`)
  }
  const drainSeconds = since(drainStartedAt)
  say(drained ? `soak: drained after ${drainSeconds.toFixed(1)} s` : `soak: NOT drained after ${drainSeconds.toFixed(1)} s; reconciling what there is`)

  const reconcileStartedAt = Date.now()
  if (!drained || reconciliation === undefined) reconciliation = await probe()
  const taskOf = (notificationId: string): string => notificationId.split(':')[1] ?? ''
  const evidence = await deliveryEvidence(app.sandboxUrl, auth, [
    ...reconciliation.duplicateAfterInTime.map((duplicate) => ({ taskId: taskOf(duplicate.notificationId), why: 'delivered again after a 2xx the consumer saw' })),
    ...reconciliation.dlqAndDeliveredInTime.map((taskId) => ({ taskId, why: 'in the DLQ though delivered' })),
  ])
  const answered = receiver.calls
  const notes = downstream.notes
  const partial: Omit<SoakResult, 'ok' | 'verdict'> = {
    options,
    app: { ports: { ...PORTS }, queue: keys, consumerTimeoutSeconds: CONSUMER_TIMEOUT_SECONDS, env: { ...env, LOCAL_SCHEDULE_SECONDS: String(options.relaySeconds) } },
    startedAt: new Date(startedAt).toISOString(),
    seconds: { startup: startupSeconds, send: sendSeconds, drain: drainSeconds, reconcile: since(reconcileStartedAt), total: since(startedAt) },
    drained,
    producer: producerFigures(producer.stats, sendSeconds),
    downstream: {
      calls: answered.length,
      answered2xx: answered.filter((call) => call.status >= 200 && call.status < 300).length,
      answered503: answered.filter((call) => call.status === 503).length,
      slowCalls: notes.filter((note) => note.delayMs > 0 && !note.brownout).length,
      lateAnswers: notes.filter((note) => note.late).length,
      brownoutCalls: notes.filter((note) => note.brownout).length,
      brownoutWindows: downstream.brownoutWindows.map((window) => ({ from: new Date(window.from).toISOString(), to: new Date(window.to).toISOString() })),
      peakInFlight: receiver.maxInFlight,
      bound,
    },
    reconciliation,
    evidence,
    consumer: { ...capture.counts, logFile: LOG_FILE, invocationFailedAt: capture.invocationFailures.map((at) => new Date(at).toISOString()) },
  }
  const problems = verdict(partial)
  const result: SoakResult = { ok: problems.length === 0, verdict: problems, ...partial }
  say(formatSummary(result))
  await writeFile(RESULT_FILE, `${JSON.stringify(result, null, 2)}\n`)
  say(`soak: figures written to ${RESULT_FILE}`)
  return result.ok ? 0 : 1
}

let code = 1
try {
  code = await main()
} catch (error) {
  say(`soak: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`)
  code = 1
} finally {
  say('soak: stopping the app')
  await shutdown()
}
process.exit(code)
