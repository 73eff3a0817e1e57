import type { SQSClient } from '@aws-sdk/client-sqs'
import { type QueueDepth, queueDepth, type WebhookReceiver } from '../scripts/lib/harness/index.ts'
import type { BurstObserver } from './load.ts'

/** One look at the system, every `intervalMs`. */
export interface Sample {
  run: string
  /** ms since the start of the run's burst (negative in the quiet period before it). */
  t: number
  at: number
  /** Messages waiting in the queue (receivable now). */
  queueVisible: number | null
  /** Messages received by a consumer and not yet deleted (or waiting out a retry's backoff). */
  queueInFlight: number | null
  /** Messages sent with a delay not over yet (a deferral's copy while a breaker is open). */
  queueDelayed: number | null
  dlqVisible: number | null
  dlqInFlight: number | null
  /** Calls the downstream is answering right now. */
  downstreamInFlight: number
  /** The most calls the downstream had at once since the previous sample: a 500 ms sample misses short peaks. */
  downstreamPeak: number
  /** Downstream calls answered since the run started (any status). */
  deliveriesTotal: number
  /** ...of them answered 2xx. */
  deliveredTotal: number
  deliveriesPerSecond: number
  requestsSent: number
  requestsDone: number
  /** From the app's dashboard, when the sampler follows it: the consumer's invocations (finished and under way) and its pause. */
  consumer?: { batches: number; inFlight: number; paused: boolean; pausedBy: string | null; webhookBreaker: string | null } | null
}

export interface SamplerTargets {
  run: string
  receiver: WebhookReceiver
  producer: BurstObserver
  /** Absent for the baseline: it has no queue. */
  queue?: { sqs: SQSClient; queueUrl: string; dlqUrl: string }
  /** The app's local dashboard (its GET /api/state), for the consumer's figures. */
  dashboardUrl?: string
}

/** The consumer's figures the app's dashboard reports (GET /api/state); null when it does not answer. */
export async function consumerOf(dashboardUrl: string): Promise<NonNullable<Sample['consumer']>> {
  const response = await fetch(`${dashboardUrl}/api/state`)
  if (!response.ok) throw new Error(`${dashboardUrl}/api/state answered ${response.status}`)
  const state = (await response.json()) as { consumer: { batches: number; inFlight: number; paused: boolean; pausedBy: string | null }; breakers?: { webhook?: { state: string } } }
  return { batches: state.consumer.batches, inFlight: state.consumer.inFlight, paused: state.consumer.paused, pausedBy: state.consumer.pausedBy, webhookBreaker: state.breakers?.webhook?.state ?? null }
}

/** Samples on a fixed interval until stopped; `latest` is what the progress bar shows. */
export class Sampler {
  readonly samples: Sample[] = []
  latest: Sample | undefined
  readonly #targets: SamplerTargets
  readonly #intervalMs: number
  #timer: NodeJS.Timeout | undefined
  #busy = false
  #origin = Date.now()
  #callsAtStart: number
  #lastCalls: number
  #lastAt = Date.now()

  constructor(targets: SamplerTargets, intervalMs: number) {
    this.#targets = targets
    this.#intervalMs = intervalMs
    this.#callsAtStart = targets.receiver.calls.length
    this.#lastCalls = this.#callsAtStart
  }

  /** Starts sampling; `t` counts from `origin` (set it to the burst's start with markOrigin). */
  start(): void {
    this.#targets.receiver.maxInFlight = this.#targets.receiver.inFlight
    this.#lastAt = Date.now()
    this.#timer = setInterval(() => void this.#sample(), this.#intervalMs)
  }

  markOrigin(at = Date.now()): void {
    this.#origin = at
    for (const sample of this.samples) sample.t = sample.at - at
  }

  async stop(): Promise<Sample[]> {
    clearInterval(this.#timer)
    while (this.#busy) await new Promise((resolve) => setTimeout(resolve, 20))
    await this.#sample()
    return this.samples
  }

  async #sample(): Promise<void> {
    if (this.#busy) return
    this.#busy = true
    try {
      const { receiver, producer, queue, run } = this.#targets
      const at = Date.now()
      // Read the downstream first and at once: the queue calls below take time.
      const calls = receiver.calls.length
      const delivered = receiver.calls.slice(this.#callsAtStart).filter((call) => call.status >= 200 && call.status < 300).length
      const downstreamInFlight = receiver.inFlight
      const downstreamPeak = receiver.maxInFlight
      receiver.maxInFlight = receiver.inFlight
      let depth: QueueDepth | undefined
      let dlq: QueueDepth | undefined
      if (queue) {
        ;[depth, dlq] = await Promise.all([queueDepth(queue.sqs, queue.queueUrl), queueDepth(queue.sqs, queue.dlqUrl)]).catch(() => [undefined, undefined])
      }
      const dashboardUrl = this.#targets.dashboardUrl
      const consumer = dashboardUrl ? await consumerOf(dashboardUrl).catch(() => null) : undefined
      const seconds = Math.max(0.001, (at - this.#lastAt) / 1000)
      const sample: Sample = {
        run,
        t: at - this.#origin,
        at,
        queueVisible: depth?.visible ?? null,
        queueInFlight: depth?.inFlight ?? null,
        queueDelayed: depth?.delayed ?? null,
        dlqVisible: dlq?.visible ?? null,
        dlqInFlight: dlq?.inFlight ?? null,
        downstreamInFlight,
        downstreamPeak,
        deliveriesTotal: calls - this.#callsAtStart,
        deliveredTotal: delivered,
        deliveriesPerSecond: Math.round(((calls - this.#lastCalls) / seconds) * 100) / 100,
        requestsSent: producer.sent,
        requestsDone: producer.done,
        ...(consumer !== undefined && { consumer }),
      }
      this.#lastCalls = calls
      this.#lastAt = at
      this.samples.push(sample)
      this.latest = sample
    } finally {
      this.#busy = false
    }
  }
}
