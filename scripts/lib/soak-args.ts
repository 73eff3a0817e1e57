import { randomInt } from 'node:crypto'
import { parseArgs } from 'node:util'

/** Everything `npm run soak` can be told; the defaults are sustainable on a 2-core laptop. */
export interface SoakOptions {
  /** POST /tasks to send. */
  count: number
  /** Creates per second, on a fixed schedule. */
  rate: number
  /** Most POST /tasks in flight at once. */
  concurrency: number
  /** Share of downstream calls answered 503. */
  failRate: number
  /** Share of downstream calls that are slow. */
  slowRate: number
  slowMinMs: number
  slowMaxMs: number
  /** Brownout windows during the send phase, each `brownoutSeconds` long, in which every call takes at least `brownoutMs`. */
  brownouts: number
  brownoutSeconds: number
  brownoutMs: number
  /** Seed of the downstream's randomness. */
  seed: number
  /** The consumer's webhook timeout (NOTIFY_WEBHOOK_TIMEOUT_MS). */
  webhookTimeoutMs: number
  /** How long to wait for the queue to drain once everything is sent, seconds. */
  drainTimeoutSeconds: number
  /** Consecutive empty samples (2 s apart) that count as drained. */
  drainSamples: number
  /** Every how many seconds the app's outbox relay runs (LOCAL_SCHEDULE_SECONDS). */
  relaySeconds: number
  progressSeconds: number
  requestTimeoutMs: number
  /** TEST_PORT_OFFSET for the app's ports (3433/9424/5655/4544/2322 + offset). */
  portOffset: number
}

const USAGE = `npm run soak -- [--count 2000] [--rate 4] [--concurrency 6] [--fail-rate 0.2] [--seed N]
  [--slow-rate 0.1] [--slow-min-ms 1000] [--slow-max-ms 3000]
  [--brownouts 2] [--brownout-seconds 5] [--brownout-ms 1500] [--webhook-timeout-ms 2000]
  [--drain-timeout 900] [--drain-samples 5] [--relay-seconds 15] [--progress-seconds 5]
  [--request-timeout-ms 30000] [--port-offset 600]`

export function parseSoakArgs(argv: string[]): SoakOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      count: { type: 'string', default: '2000' },
      rate: { type: 'string', default: '4' },
      concurrency: { type: 'string', default: '6' },
      'fail-rate': { type: 'string', default: '0.2' },
      'slow-rate': { type: 'string', default: '0.1' },
      'slow-min-ms': { type: 'string', default: '1000' },
      'slow-max-ms': { type: 'string', default: '3000' },
      brownouts: { type: 'string', default: '2' },
      'brownout-seconds': { type: 'string', default: '5' },
      'brownout-ms': { type: 'string', default: '1500' },
      seed: { type: 'string' },
      'webhook-timeout-ms': { type: 'string', default: '2000' },
      'drain-timeout': { type: 'string', default: '900' },
      'drain-samples': { type: 'string', default: '5' },
      'relay-seconds': { type: 'string', default: '15' },
      'progress-seconds': { type: 'string', default: '5' },
      'request-timeout-ms': { type: 'string', default: '30000' },
      'port-offset': { type: 'string', default: '600' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  })
  if (values.help) {
    console.log(USAGE)
    process.exit(0)
  }
  const number = (name: string, raw: string | undefined, check: (value: number) => boolean, rule: string): number => {
    const value = Number(raw)
    if (raw === undefined || raw.trim() === '' || !Number.isFinite(value) || !check(value)) {
      throw new Error(`--${name} must be ${rule}, got ${JSON.stringify(raw)}\n${USAGE}`)
    }
    return value
  }
  const whole = (name: string, min: number) => number(name, values[name as keyof typeof values] as string, (v) => Number.isInteger(v) && v >= min, `a whole number >= ${min}`)
  const positive = (name: string) => number(name, values[name as keyof typeof values] as string, (v) => v > 0, 'a positive number')
  const share = (name: string) => number(name, values[name as keyof typeof values] as string, (v) => v >= 0 && v <= 1, 'a number from 0 to 1')

  const options: SoakOptions = {
    count: whole('count', 1),
    rate: positive('rate'),
    concurrency: whole('concurrency', 1),
    failRate: share('fail-rate'),
    slowRate: share('slow-rate'),
    slowMinMs: whole('slow-min-ms', 0),
    slowMaxMs: whole('slow-max-ms', 0),
    brownouts: whole('brownouts', 0),
    brownoutSeconds: positive('brownout-seconds'),
    brownoutMs: whole('brownout-ms', 0),
    seed: values.seed === undefined ? randomInt(1, 2 ** 31) : whole('seed', 0),
    webhookTimeoutMs: whole('webhook-timeout-ms', 1),
    drainTimeoutSeconds: positive('drain-timeout'),
    drainSamples: whole('drain-samples', 1),
    relaySeconds: positive('relay-seconds'),
    progressSeconds: positive('progress-seconds'),
    requestTimeoutMs: whole('request-timeout-ms', 1),
    portOffset: whole('port-offset', 0),
  }
  if (options.slowMaxMs < options.slowMinMs) throw new Error(`--slow-max-ms (${options.slowMaxMs}) is below --slow-min-ms (${options.slowMinMs})`)
  return options
}
