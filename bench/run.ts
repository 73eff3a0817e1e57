import { mkdir, readFile, writeFile } from 'node:fs/promises'
import type { Server } from 'node:http'
import { cpus, loadavg } from 'node:os'
import { dirname, join, relative, resolve } from 'node:path'
import { SQSClient } from '@aws-sdk/client-sqs'
import { localIssuerDir, localIssuerSettings, localIssuerUrl, mintToken, startLocalIssuer } from '../src/plugins/queue-leveling/local-issuer.ts'
import { offsetPorts, queueDepth, ROOT, type WebhookCall, WebhookReceiver } from '../scripts/lib/harness/index.ts'
import { account, timedOutDeliveries, type Accounting } from './accounting.ts'
import { fixtureCopy, productCopy, startApp, type RunningApp } from './apps.ts'
import { readOptions, usage, type BenchOptions } from './args.ts'
import { chartSpec, renderChart, type ChartRun } from './chart.ts'
import { measureRouteCosts, type RouteCost } from './cost.ts'
import { closedLoopBurst, replaySchedule, timedRequest, type BurstObserver, type RequestRecord, type Target } from './load.ts'
import { profileSandboxCost, type ProfileFindings } from './profile.ts'
import { Progress } from './progress.ts'
import { levelingChartSpec, type OutageChartRun } from './chart.ts'
import { appQueueSettings, runOutage, runRate, type LevelingContext } from './leveling.ts'
import { LEVELING_MARKERS, levelingMarkdown } from './leveling-report.ts'
import { levelingTargets, outageFigures, rateFigures, type LevelingSettings, type LevelingSummary, type OutageRun, type RateRun } from './leveling-summary.ts'
import { BENCH_RESULTS_DOC, linkFromResultsDoc, markdown, rewriteBlock } from './report.ts'
import { Sampler } from './sampler.ts'
import { summarize, fmtMs, type RunResult } from './summary.ts'

/**
 * `npm run bench`: the queue against a synchronous baseline under the same
 * burst, in figures and a chart. See docs/benchmark.md.
 */
let options: BenchOptions | undefined
try {
  options = readOptions(process.argv.slice(2))
} catch (error) {
  console.error(error instanceof Error ? error.message : error)
  console.error(usage())
  process.exit(2)
}
if (!options) {
  console.log(usage())
  process.exit(0)
}
const opts: BenchOptions = options

const CONSUMER_TIMEOUT_MS = 30_000
const webhookTimeoutMs = Math.max(5000, opts.latencyMs + 2000)
if (webhookTimeoutMs >= CONSUMER_TIMEOUT_MS) {
  console.error(`--latency-ms ${opts.latencyMs} needs a webhook timeout (${webhookTimeoutMs} ms) under the consumer's ${CONSUMER_TIMEOUT_MS / 1000} s timeout`)
  process.exit(2)
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))
const startedAt = new Date()
const loadAverageAtStart = loadavg()
const ports = offsetPorts(opts.portOffset)
const noopPorts = offsetPorts(opts.portOffset + 20)
const runQueue = opts.phases.has('queue')
const runCost = opts.phases.has('cost')
const runBaseline = opts.phases.has('baseline')
const runMain = runCost || runQueue || runBaseline
const runOutagePhase = opts.phases.has('outage')
const runRatePhase = opts.phases.has('rate')
const runLeveling = runOutagePhase || runRatePhase
const steps =
  (runMain ? 1 + (runCost ? 2 : 0) + (runQueue ? 2 * opts.rounds + 1 : 0) + (runBaseline ? 1 : 0) + 1 : 0) + (runOutagePhase ? 2 : 0) + (runRatePhase ? 1 : 0) + (runLeveling ? 1 : 0)
const progress = new Progress(steps)

const receiver = new WebhookReceiver()
const failing = (): number => (Math.random() < opts.failRate ? 503 : 200)
const downstream = (delayMs: number): void => {
  receiver.behaviour = { delayMs, status: failing }
}
downstream(0)
const downstreamUrl = await receiver.listen()
const appEnv = { NOTIFY_WEBHOOK_URL: downstreamUrl, NOTIFY_WEBHOOK_TIMEOUT_MS: String(webhookTimeoutMs), RETRY_BASE_SECONDS: String(opts.retryBaseSeconds) }

/**
 * A token of the local issuer an app under test trusts (its key pair in the
 * app's copy, its port the bench's): one per app, valid for 12 hours, longer
 * than a bench run lasts; nothing outside this machine trusts it.
 */
const TOKEN_TTL_SECONDS = 12 * 3600
const bearerOf = async (appDir: string): Promise<{ authorization: string }> => ({
  authorization: `Bearer ${await mintToken({ dir: localIssuerDir(appDir), issuer: localIssuerUrl(ports.LOCAL_ISSUER_PORT), sub: 'bench', ttlSeconds: TOKEN_TTL_SECONDS })}`,
})

const running = new Set<RunningApp>()
/** The issuer the bench serves itself for the synchronous fixture, which has no queue-leveling plugin to run one. */
let fixtureIssuer: Server | undefined
async function stopFixtureIssuer(): Promise<void> {
  const server = fixtureIssuer
  fixtureIssuer = undefined
  if (!server) return
  server.closeAllConnections()
  await new Promise<void>((resolve) => server.close(() => resolve()))
}
async function stopApp(app: RunningApp | undefined): Promise<void> {
  if (!app) return
  running.delete(app)
  await app.stop()
}
async function stopEverything(): Promise<void> {
  await Promise.allSettled([...running].map((app) => app.stop()))
  running.clear()
  await stopFixtureIssuer().catch(() => undefined)
  await receiver.close().catch(() => undefined)
}
process.once('SIGINT', () => {
  progress.note('Interrupted: stopping the apps')
  void stopEverything().finally(() => process.exit(130))
})

const createTarget = (baseUrl: string, headers: Record<string, string>): Target => ({
  url: `${baseUrl}/tasks`,
  method: 'POST',
  headers,
  body: (index) => ({ title: `Bench task ${index + 1}`, detail: 'Created by npm run bench' }),
})
const ids = (records: { status: number; taskId?: string }[]): string[] => records.flatMap((record) => (record.taskId ? [record.taskId] : []))

/** The summary indented; each run's requests and samples one record a line, so the file stays readable and diffable. */
function resultsJson(summary: unknown, results: RunResult[], routeCosts: RouteCost[] | null, calls: WebhookCall[]): string {
  const records = (items: unknown[]): string => `[\n${items.map((item) => `    ${JSON.stringify(item)}`).join(',\n')}\n   ]`
  const runLines = results.map(({ requests, samples, ...meta }) => {
    const head = JSON.stringify(meta).slice(0, -1)
    return `  ${head},\n   "requests": ${records(requests)},\n   "samples": ${records(samples)}\n  }`
  })
  // Every call the downstream answered, queue and baseline alike: notification id, when it arrived, the status it got.
  const downstreamCalls = records(calls.map((call) => ({ id: call.body.id, at: call.receivedAt, status: call.status })))
  return (
    `{\n "summary": ${JSON.stringify(summary, null, 1).replace(/\n/g, '\n ')},\n "costs": ${JSON.stringify(routeCosts)},\n` +
    ` "runs": [\n${runLines.join(',\n')}\n ],\n "downstreamCalls": ${downstreamCalls}\n}\n`
  )
}

/** Follows a burst on the progress bar until `until` settles. */
async function watch<T>(until: Promise<T>, draw: () => void): Promise<T> {
  const timer = setInterval(draw, 250)
  try {
    return await until
  } finally {
    clearInterval(timer)
    draw()
  }
}

/** The leveling phases' files, beside the queue phases': a run of one leaves the other's alone. */
const LEVELING_RESULTS = 'bench/leveling-results.json'
const LEVELING_CHART = 'bench/leveling-chart.svg'

/** The summary indented; each run's samples, requests and downstream calls one record a line. */
function levelingJson(summary: LevelingSummary, runs: { name: string; samples: unknown[]; requests: RequestRecord[]; calls: WebhookCall[] }[]): string {
  const records = (items: unknown[]): string => `[\n${items.map((item) => `    ${JSON.stringify(item)}`).join(',\n')}\n   ]`
  const runLines = runs.map(
    (run) =>
      `  {"run": ${JSON.stringify(run.name)},\n   "samples": ${records(run.samples)},\n   "requests": ${records(run.requests)},\n` +
      `   "downstreamCalls": ${records(run.calls.map((call) => ({ id: call.body.id, at: call.receivedAt, status: call.status })))}\n  }`,
  )
  return `{\n "summary": ${JSON.stringify(summary, null, 1).replace(/\n/g, '\n ')},\n "runs": [\n${runLines.join(',\n')}\n ]\n}\n`
}

/** `--phases outage,rate`: each on its own copy of the app; the figures, a chart and their block of the results document. */
async function levelingPhases(): Promise<void> {
  const started = new Date()
  const context: LevelingContext = { opts, ports, receiver, appEnv, progress, running, bearerOf, createTarget }
  const queue = await appQueueSettings()
  const outageRuns: (OutageRun & { requests: RequestRecord[] })[] = []
  if (runOutagePhase) {
    for (const variant of ['breaker', 'no-breaker'] as const) {
      progress.step(`outage, ${variant === 'breaker' ? `with the breaker (BREAKER_FAILURES ${opts.breakerFailures})` : 'breaker off (BREAKER_FAILURES=0)'}: ${opts.outageSeconds} s of 503s`)
      outageRuns.push(await runOutage(context, variant))
    }
  }
  let rateRun: (RateRun & { requests: RequestRecord[] }) | undefined
  if (runRatePhase) {
    progress.step(`rate cap: NOTIFY_WEBHOOK_MAX_PER_SECOND ${opts.rateCap}`)
    rateRun = await runRate(context)
  }
  progress.step(`leveling results, chart, ${BENCH_RESULTS_DOC}`)
  const settings: LevelingSettings = {
    count: opts.count,
    outageSeconds: opts.outageSeconds,
    breakerFailures: opts.breakerFailures,
    breakerOpenSeconds: opts.breakerOpenSeconds,
    breakerMaxOpenSeconds: opts.breakerMaxOpenSeconds,
    retryBaseSeconds: opts.retryBaseSeconds,
    maxReceiveCount: queue.maxReceiveCount,
    batchSize: queue.batchSize,
    maxConcurrency: queue.maxConcurrency,
    rateCap: opts.rateCap,
  }
  const outage = outageRuns.map(outageFigures)
  const rate = rateRun ? rateFigures(rateRun) : null
  const summary: LevelingSummary = {
    startedAt: started.toISOString(),
    seconds: Math.round((Date.now() - started.getTime()) / 1000),
    settings,
    outage,
    rate,
    targets: levelingTargets(settings, outage, rate),
  }
  const out = resolve(ROOT, LEVELING_RESULTS)
  const chart = resolve(ROOT, LEVELING_CHART)
  const named = (run: OutageRun): string => (run.variant === 'breaker' ? `with the breaker (BREAKER_FAILURES ${run.breakerFailures})` : 'breaker off (BREAKER_FAILURES=0)')
  const runs = [
    ...outageRuns.map((run) => ({ name: `outage, ${named(run)}`, samples: run.samples, requests: run.requests, calls: run.calls })),
    ...(rateRun ? [{ name: `rate cap ${rateRun.cap}/s`, samples: rateRun.samples, requests: rateRun.requests, calls: rateRun.calls }] : []),
  ]
  await mkdir(dirname(out), { recursive: true })
  await writeFile(out, levelingJson(summary, runs))
  const chartRuns: OutageChartRun[] = outageRuns.map((run) => ({ label: run.variant === 'breaker' ? `with the breaker (${run.breakerFailures} failures)` : 'breaker off (0)', samples: run.samples }))
  const spec = levelingChartSpec(chartRuns, { outageSeconds: opts.outageSeconds, rate: rateRun ? { cap: rateRun.cap, callsAt: rateRun.calls.map((call) => call.receivedAt), resumedAt: rateRun.resumedAt } : null })
  await writeFile(chart, await renderChart(spec))
  const machine = `${cpus().length} CPUs, load average ${loadAverageAtStart.map((value) => value.toFixed(1)).join(' / ')} at the bench's start, Node ${process.version}`
  const block = levelingMarkdown(summary, linkFromResultsDoc(ROOT, chart), machine)
  if (opts.doc) await rewriteBlock(join(ROOT, BENCH_RESULTS_DOC), block, LEVELING_MARKERS)
  progress.update(1, `${relative(ROOT, out)}, ${relative(ROOT, chart)}${opts.doc ? `, ${BENCH_RESULTS_DOC}` : ''}`)
  progress.done()
  console.log(`\n${block}\n`)
  console.log(`Results: ${relative(ROOT, out)}  Chart: ${relative(ROOT, chart)}${opts.doc ? `  ${BENCH_RESULTS_DOC}: adaptive leveling block rewritten` : ''}`)
  const unmet = summary.targets.filter((target) => target.met === false)
  console.log(unmet.length ? `Targets not met: ${unmet.map((target) => target.name).join('; ')}` : 'Every measured leveling target met.')
}

const runs: RunResult[] = []
let accounting: Accounting | null = null
let costs: RouteCost[] | null = null
let profile: ProfileFindings | null = null
const acceptedIds: string[] = []

try {
  if (runMain) {
    progress.step('start the app')
    progress.update(0, 'copying the app to .tmp/bench/queue and building it (npm start)')
    const queueDir = await productCopy('queue', { batchSize: opts.batchSize, maxConcurrency: opts.maxConcurrency, batchWindow: opts.batchWindow })
    const queueApp = await watch(startApp('queue', queueDir, ports, appEnv), () => progress.update(0.5, `sandbox starting on port ${ports.PORT} (log: .tmp/bench/queue.log)`))
    running.add(queueApp)
    const queueBearer = await bearerOf(queueDir)
    const sqsEndpoint = `http://127.0.0.1:${ports.ARC_SQS_PORT}`
    const sqs = new SQSClient({ endpoint: sqsEndpoint, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } })
    const queue = { sqs, queueUrl: `${sqsEndpoint}/000000000000/notifications`, dlqUrl: `${sqsEndpoint}/000000000000/notifications-dlq` }
    // The first request of each route builds the code cache; not measured.
    const warm = await timedRequest(createTarget(queueApp.baseUrl, queueBearer), -1)
    if (warm.status !== 201) throw new Error(`POST /tasks answered ${warm.status} on the bench app (see ${queueApp.log})`)
    acceptedIds.push((warm.body as { id: string }).id)
    progress.update(1, `ready at ${queueApp.baseUrl}`)

    async function drained(): Promise<boolean> {
      const depth = await queueDepth(sqs, queue.queueUrl)
      return depth.visible + depth.inFlight === 0 && receiver.inFlight === 0
    }

    if (runCost) {
      progress.step('sandbox cost per request')
      const noopDir = await fixtureCopy('noop')
      const noopApp = await watch(startApp('noop', noopDir, noopPorts, {}), () => progress.update(0, `starting the do-nothing fixture app on port ${noopPorts.PORT}`))
      running.add(noopApp)
      costs = await measureRouteCosts(
        [
          { label: 'POST /tasks', target: createTarget(queueApp.baseUrl, queueBearer), expect: 201 },
          { label: 'GET /unknown (product 404)', target: { url: `${queueApp.baseUrl}/unknown`, method: 'GET' }, expect: 404 },
          { label: 'GET /noop (fixture)', target: { url: `${noopApp.baseUrl}/noop`, method: 'GET' }, expect: 200 },
        ],
        opts.costSamples,
        (fraction, detail) => progress.update(fraction, detail),
      )
      for (const cost of costs) acceptedIds.push(...cost.taskIds)
      await stopApp(noopApp)

      progress.step('where the time goes')
      profile = await profileSandboxCost({
        appDir: queueDir,
        appPorts: ports,
        extraBundles: [{ name: 'fixture noop: http/get-noop', path: join(noopDir, '.build/http/get-noop/index.js') }],
        samples: opts.requireSamples,
        env: appEnv,
        bearer: queueBearer.authorization,
        onProgress: (fraction, detail) => progress.update(fraction, detail),
      })
      acceptedIds.push(...profile.probeTaskIds)
      const settle = Date.now()
      while (!(await drained()) && Date.now() - settle < 60_000) await sleep(500)
    }

    if (runQueue) {
      for (let round = 1; round <= opts.rounds; round++) {
        const order: RunResult['kind'][] = round % 2 ? ['queue-instant', 'queue-slow'] : ['queue-slow', 'queue-instant']
        for (const kind of order) {
          const slow = kind === 'queue-slow'
          const delayMs = slow ? opts.latencyMs : 0
          const run = `${kind}-${round}`
          progress.step(`${slow ? `queue, ${fmtMs(opts.latencyMs)}` : 'queue, instant'} downstream${opts.rounds > 1 ? ` #${round}` : ''}`)
          downstream(delayMs)
          const producer: BurstObserver = { sent: 0, done: 0 }
          const sampler = new Sampler({ run, receiver, producer, queue }, opts.intervalMs)
          sampler.start()
          const draw = (phase: string): void => {
            const latest = sampler.latest
            const delivered = latest?.deliveriesTotal ?? 0
            progress.update(
              (producer.done + Math.min(delivered, opts.count)) / (2 * opts.count),
              `${phase}: sent ${producer.sent}/${opts.count}, queue ${latest?.queueVisible ?? 0} waiting + ${latest?.queueInFlight ?? 0} in flight, ` +
                `downstream ${latest?.downstreamInFlight ?? 0} in flight, ${delivered} delivered, DLQ ${latest?.dlqVisible ?? 0}`,
            )
          }
          await watch(sleep(opts.quietSeconds * 1000), () => draw('quiet'))
          sampler.markOrigin()
          const requests = await watch(closedLoopBurst(run, createTarget(queueApp.baseUrl, queueBearer), opts.count, opts.concurrency, producer), () => draw('burst'))
          acceptedIds.push(...ids(requests))
          const burstEnd = Date.now()
          let isDrained = false
          await watch(
            (async () => {
              while (Date.now() - burstEnd < opts.maxDrainSeconds * 1000) {
                if (await drained()) {
                  isDrained = true
                  return
                }
                await sleep(500)
              }
            })(),
            () => draw('draining'),
          )
          // A little quiet after the drain, so the chart shows it end.
          await sleep(Math.min(3000, opts.quietSeconds * 1000))
          const samples = await sampler.stop()
          if (!isDrained) progress.note(`${run}: the queue did not drain within ${opts.maxDrainSeconds} s`)
          runs.push({ run, kind, downstreamLatencyMs: delayMs, requests, samples, drained: isDrained })
        }
      }

      progress.step('delivered once or in the DLQ')
      progress.update(0.5, 'matching deliveries against accepted tasks and the DLQ')
      const appLog = await readFile(queueApp.log, 'utf8').catch(() => '')
      accounting = await account(acceptedIds, receiver.calls, queue, timedOutDeliveries(appLog))
      progress.update(1, `${accounting.deliveredOnce} delivered once, ${accounting.inDlq} in the DLQ, ${accounting.duplicated} duplicated, ${accounting.missing} missing`)
    }
    sqs.destroy()
    await stopApp(queueApp)

    if (runBaseline) {
      progress.step(`synchronous baseline, ${fmtMs(opts.latencyMs)}`)
      const syncDir = await fixtureCopy('sync')
      // Its POST /tasks checks tokens as the product's does, so that both sides of the comparison pay for it.
      fixtureIssuer = await startLocalIssuer({ dir: localIssuerDir(syncDir), port: ports.LOCAL_ISSUER_PORT })
      const syncEnv = { ...appEnv, ...localIssuerSettings(ports.LOCAL_ISSUER_PORT) }
      const syncApp = await watch(startApp('sync', syncDir, ports, syncEnv), () => progress.update(0, `starting the synchronous fixture app on port ${ports.PORT}`))
      running.add(syncApp)
      const syncBearer = await bearerOf(syncDir)
      downstream(opts.latencyMs)
      const warmSync = await timedRequest(createTarget(syncApp.baseUrl, syncBearer), -1)
      if (warmSync.status !== 201) throw new Error(`the synchronous fixture answered ${warmSync.status} (see ${syncApp.log})`)
      // The arrival times of the slow queue runs (or a closed-loop burst when they were not run).
      const schedules = runs.filter((run) => run.kind === 'queue-slow').map((run) => run.requests.map((request) => request.offsetMs))
      const plans: (number[] | undefined)[] = schedules.length ? schedules : [undefined]
      for (const [index, offsets] of plans.entries()) {
        const run = `baseline-${index + 1}`
        const producer: BurstObserver = { sent: 0, done: 0 }
        const sampler = new Sampler({ run, receiver, producer }, opts.intervalMs)
        sampler.start()
        const total = offsets?.length ?? opts.count
        const draw = (phase: string): void => {
          const latest = sampler.latest
          progress.update(
            (index + producer.done / total) / plans.length,
            `${phase}: sent ${producer.sent}/${total}, answered ${producer.done}, downstream ${latest?.downstreamInFlight ?? 0} in flight (peak ${receiver.maxInFlight})`,
          )
        }
        await watch(sleep(opts.quietSeconds * 1000), () => draw('quiet'))
        sampler.markOrigin()
        const target = createTarget(syncApp.baseUrl, syncBearer)
        const requests: RequestRecord[] = await watch(
          offsets ? replaySchedule(run, target, offsets, producer) : closedLoopBurst(run, target, opts.count, opts.concurrency, producer),
          () => draw(offsets ? 'replaying the arrivals' : 'burst'),
        )
        while (receiver.inFlight > 0) await sleep(200)
        await sleep(Math.min(3000, opts.quietSeconds * 1000))
        runs.push({ run, kind: 'baseline', downstreamLatencyMs: opts.latencyMs, requests, samples: await sampler.stop(), drained: true })
      }
      await stopApp(syncApp)
      await stopFixtureIssuer()
    }

    progress.step(`results, chart, ${BENCH_RESULTS_DOC}`)
    const summary = summarize({ options: opts, startedAt, loadAverageAtStart, runs, accounting, costs, profile })
    const out = resolve(ROOT, opts.out)
    const chart = resolve(ROOT, opts.chart)
    await mkdir(dirname(out), { recursive: true })
    await writeFile(out, resultsJson(summary, runs, costs, receiver.calls))
    const label = (run: RunResult): string => {
      const name = run.kind === 'queue-slow' ? `queue, ${fmtMs(run.downstreamLatencyMs)} downstream` : run.kind === 'queue-instant' ? 'queue, instant downstream' : `synchronous, ${fmtMs(run.downstreamLatencyMs)} downstream`
      return opts.rounds > 1 ? `${name} #${run.run.split('-').at(-1)}` : name
    }
    const chartRuns: ChartRun[] = runs.map((run) => ({ label: label(run), samples: run.samples, requests: run.requests }))
    const spec = chartSpec(chartRuns, {
      title: `A burst of ${opts.count} creates: queue (bound ${summary.settings.bound}) against the synchronous baseline`,
      bound: summary.settings.bound,
      idealPerSecond: summary.settings.idealPerSecond,
    })
    await mkdir(dirname(chart), { recursive: true })
    await writeFile(chart, await renderChart(spec))
    const block = markdown(summary, linkFromResultsDoc(ROOT, chart))
    if (opts.doc) await rewriteBlock(join(ROOT, BENCH_RESULTS_DOC), block)
    progress.update(1, `${relative(ROOT, out)}, ${relative(ROOT, chart)}${opts.doc ? `, ${BENCH_RESULTS_DOC}` : ''}`)
    progress.done()

    console.log(`\n${block}\n`)
    console.log(`Results: ${relative(ROOT, out)}  Chart: ${relative(ROOT, chart)}${opts.doc ? `  ${BENCH_RESULTS_DOC}: Benchmark block rewritten` : ''}`)
    const unmet = summary.targets.filter((target) => target.met === false)
    console.log(unmet.length ? `Targets not met: ${unmet.map((target) => target.name).join('; ')}` : 'Every measured target met.')
  }

  if (runLeveling) await levelingPhases()
} catch (error) {
  progress.done()
  console.error(error instanceof Error ? error.stack : error)
  process.exitCode = 1
} finally {
  await stopEverything()
}
