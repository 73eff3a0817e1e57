import { parseArgs } from 'node:util'
import { BENCH_RESULTS_DOC } from './report.ts'

/** Everything a bench run can be told; `npm run bench -- --help` lists it. */
export interface BenchOptions {
  count: number
  concurrency: number
  quietSeconds: number
  latencyMs: number
  failRate: number
  batchSize: number
  maxConcurrency: number
  batchWindow: number
  intervalMs: number
  rounds: number
  costSamples: number
  requireSamples: number
  maxDrainSeconds: number
  retryBaseSeconds: number
  outageSeconds: number
  breakerFailures: number
  breakerOpenSeconds: number
  breakerMaxOpenSeconds: number
  rateCap: number
  portOffset: number
  phases: Set<Phase>
  out: string
  chart: string
  /** Rewrite the run's marked blocks of the results document (BENCH_RESULTS_DOC). */
  doc: boolean
}

export const PHASES = ['cost', 'queue', 'baseline', 'outage', 'rate'] as const
export type Phase = (typeof PHASES)[number]
/** What `npm run bench` runs unless told: the adaptive-leveling phases (outage, rate: several minutes more) run when named. */
export const DEFAULT_PHASES: readonly Phase[] = ['cost', 'queue', 'baseline']
/** The phases that measure adaptive leveling, each on its own copy of the app with the app's own @queues keys. */
export const LEVELING_PHASES: readonly Phase[] = ['outage', 'rate']

const OPTIONS = {
  count: { type: 'string', default: '150', help: 'creates per burst' },
  concurrency: { type: 'string', default: '8', help: 'producer requests in flight at once during a burst' },
  'quiet-seconds': { type: 'string', default: '5', help: 'quiet period sampled before each burst' },
  'latency-ms': { type: 'string', default: '3000', help: 'latency of the slow downstream, ms' },
  'fail-rate': { type: 'string', default: '0', help: 'share of downstream calls answered 503 (0..1)' },
  // 2 x 2 / 3 s = 1.33 deliveries/s, well below the ~3 creates/s the sandbox serves here: a real backlog forms.
  'batch-size': { type: 'string', default: '2', help: '@queues batchSize of the bench copy of the app' },
  'max-concurrency': { type: 'string', default: '2', help: '@queues maxConcurrency of the bench copy of the app' },
  'batch-window': { type: 'string', default: '1', help: '@queues batchWindow of the bench copy of the app' },
  'interval-ms': { type: 'string', default: '500', help: 'sampling interval, ms' },
  rounds: { type: 'string', default: '1', help: 'instant + slow burst pairs (percentiles pool over the rounds)' },
  'cost-samples': { type: 'string', default: '15', help: 'sequential requests per route for the sandbox cost' },
  'require-samples': { type: 'string', default: '3', help: 'node processes per bundle for its require time' },
  'max-drain-seconds': { type: 'string', default: '300', help: 'longest wait for a burst to drain' },
  'retry-base-seconds': { type: 'string', default: '2', help: 'RETRY_BASE_SECONDS of the consumer (backoff after a failed delivery)' },
  // With a 2 s retry base a message's 5 receives span about a minute: a 120 s outage outlasts the retry budget, as a long one does with the shipped 60 s.
  'outage-seconds': { type: 'string', default: '120', help: 'outage phase: how long the downstream answers 503, from the burst on' },
  'breaker-failures': { type: 'string', default: '5', help: 'outage phase: BREAKER_FAILURES of the run with the breaker (the other runs with 0)' },
  'breaker-open-seconds': { type: 'string', default: '10', help: 'outage phase: BREAKER_OPEN_SECONDS' },
  'breaker-max-open-seconds': { type: 'string', default: '20', help: 'outage phase: BREAKER_MAX_OPEN_SECONDS' },
  'rate-cap': { type: 'string', default: '5', help: 'rate phase: NOTIFY_WEBHOOK_MAX_PER_SECOND' },
  'port-offset': { type: 'string', default: process.env.TEST_PORT_OFFSET || '900', help: 'added to the test ports (TEST_PORT_OFFSET)' },
  phases: { type: 'string', default: DEFAULT_PHASES.join(','), help: `which phases to run, of ${PHASES.join(',')}` },
  out: { type: 'string', default: 'bench/results.json', help: 'results file' },
  chart: { type: 'string', default: 'bench/chart.svg', help: 'chart file' },
  doc: { type: 'boolean', default: true, help: `rewrite the run's marked blocks of the results document, ${BENCH_RESULTS_DOC} (--no-doc to leave it)` },
  help: { type: 'boolean', default: false, help: 'print this list' },
} as const

function number(name: string, raw: string, min: number, max: number): number {
  const value = Number(raw)
  if (!Number.isFinite(value) || value < min || value > max) throw new Error(`--${name} must be a number from ${min} to ${max} (got ${raw})`)
  return value
}

export function usage(): string {
  const lines = Object.entries(OPTIONS).map(([name, option]) => {
    const fallback = option.type === 'boolean' ? '' : ` (default ${option.default})`
    return `  --${name.padEnd(20)} ${option.help}${fallback}`
  })
  return `npm run bench -- [options]\n${lines.join('\n')}`
}

export function readOptions(argv: string[]): BenchOptions | undefined {
  const { values } = parseArgs({ args: argv, options: OPTIONS, allowNegative: true, strict: true })
  if (values.help) return undefined
  for (const name of ['breaker-failures', 'breaker-open-seconds', 'breaker-max-open-seconds', 'outage-seconds'] as const) {
    if (!Number.isInteger(Number(values[name]))) throw new Error(`--${name} must be a whole number (got ${values[name]})`)
  }
  if (Number(values['breaker-max-open-seconds']) < Number(values['breaker-open-seconds'])) throw new Error('--breaker-max-open-seconds must be at least --breaker-open-seconds')
  const phases = new Set(values.phases.split(',').map((phase) => phase.trim()).filter(Boolean))
  for (const phase of phases) {
    if (!(PHASES as readonly string[]).includes(phase)) throw new Error(`--phases: unknown phase ${phase} (known: ${PHASES.join(', ')})`)
  }
  return {
    count: number('count', values.count, 1, 100_000),
    concurrency: number('concurrency', values.concurrency, 1, 256),
    quietSeconds: number('quiet-seconds', values['quiet-seconds'], 0, 600),
    latencyMs: number('latency-ms', values['latency-ms'], 0, 60_000),
    failRate: number('fail-rate', values['fail-rate'], 0, 1),
    batchSize: number('batch-size', values['batch-size'], 1, 10_000),
    maxConcurrency: number('max-concurrency', values['max-concurrency'], 2, 1000),
    batchWindow: number('batch-window', values['batch-window'], 0, 300),
    intervalMs: number('interval-ms', values['interval-ms'], 50, 60_000),
    rounds: number('rounds', values.rounds, 1, 20),
    costSamples: number('cost-samples', values['cost-samples'], 0, 10_000),
    requireSamples: number('require-samples', values['require-samples'], 0, 100),
    maxDrainSeconds: number('max-drain-seconds', values['max-drain-seconds'], 1, 86_400),
    retryBaseSeconds: number('retry-base-seconds', values['retry-base-seconds'], 0, 43_200),
    outageSeconds: number('outage-seconds', values['outage-seconds'], 1, 3600),
    breakerFailures: number('breaker-failures', values['breaker-failures'], 1, 1000),
    breakerOpenSeconds: number('breaker-open-seconds', values['breaker-open-seconds'], 1, 86_400),
    breakerMaxOpenSeconds: number('breaker-max-open-seconds', values['breaker-max-open-seconds'], 1, 86_400),
    rateCap: number('rate-cap', values['rate-cap'], 0.1, 1000),
    portOffset: number('port-offset', values['port-offset'], 0, 50_000),
    phases: phases as Set<Phase>,
    out: values.out,
    chart: values.chart,
    doc: values.doc,
  }
}
