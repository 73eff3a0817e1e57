import { createWriteStream, type WriteStream } from 'node:fs'
import { format } from 'node:util'

/**
 * Keeps the soak run's own output readable: whatever the app writes (sandbox,
 * the queue plugin's `[queues]` line per batch, the Lambdas' output) goes to a
 * log file instead of the terminal, and the lines that matter are counted.
 * The soak run itself prints through `say`.
 */
export interface AppLogCounts {
  lines: number
  batchesAllDone: number
  batchesPartlyFailed: number
  /** Invocations that threw or timed out: nothing of their batch was deleted. */
  invocationsFailed: number
  /** Messages the plugin reported as moving to the DLQ. */
  movingToDlq: number
  pollerErrors: number
  relayFailures: number
  /** Sandbox's `Timed out after hitting its ...s timeout` warnings: a Lambda cut off (HTTP or consumer). */
  lambdaTimeouts: number
  /** `Lambda init error` lines: a Lambda process that found its invocation gone (sandbox had timed it out). */
  lambdaInitErrors: number
  /** Log lines of the Lambdas at WARN or ERROR, by message. */
  lambdaWarnings: Record<string, number>
  /** The first few queue warnings other than partly failed batches, for the report. */
  notableWarnings: string[]
}

/** A `Delivery failed` line of the consumer: when, and why. */
export interface ConsumerFailure {
  at: number
  receiveCount: number | undefined
  reasons: string[]
}

type Write = typeof process.stdout.write

let printTo: ((text: string) => void) | undefined

/** Prints a line of the soak run's own output (to the terminal even while the app's output is captured). */
export function say(...args: unknown[]): void {
  const line = `${format(...args)}\n`
  if (printTo) printTo(line)
  else process.stdout.write(line)
}

export class AppLogCapture {
  readonly counts: AppLogCounts = {
    lines: 0,
    batchesAllDone: 0,
    batchesPartlyFailed: 0,
    invocationsFailed: 0,
    movingToDlq: 0,
    pollerErrors: 0,
    relayFailures: 0,
    lambdaTimeouts: 0,
    lambdaInitErrors: 0,
    lambdaWarnings: {},
    notableWarnings: [],
  }
  /** When each consumer invocation that threw or timed out ended (its `[queues]` line), epoch ms. */
  readonly invocationFailures: number[] = []
  /** The consumer's `Delivery failed` lines, by notification id. */
  readonly deliveryFailures = new Map<string, ConsumerFailure[]>()
  readonly #file: WriteStream
  readonly #original: { stdout: Write; stderr: Write } = { stdout: process.stdout.write, stderr: process.stderr.write }
  #installed = false
  #partial = ''

  constructor(path: string) {
    this.#file = createWriteStream(path, { flags: 'w' })
  }

  install(): void {
    if (this.#installed) return
    this.#installed = true
    const divert = ((chunk: string | Uint8Array, ...rest: unknown[]): boolean => {
      const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8')
      this.#record(text)
      const callback = rest.find((item) => typeof item === 'function') as (() => void) | undefined
      callback?.()
      return true
    }) as Write
    process.stdout.write = divert
    process.stderr.write = divert
    printTo = (text) => this.#original.stdout.call(process.stdout, text)
  }

  #record(text: string): void {
    // Child processes' output arrives in chunks that may cut a line: only whole lines are kept, each with the time it came.
    const lines = (this.#partial + text).split('\n')
    this.#partial = lines.pop() ?? ''
    const now = new Date().toISOString()
    for (const raw of lines) {
      // Sandbox's status lines carry terminal colours and cursor moves.
      const line = raw.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '')
      if (!line.trim()) continue
      this.#file.write(`${now} ${line}\n`)
      this.counts.lines++
      this.#classify(line)
    }
  }

  #classify(line: string): void {
    const counts = this.counts
    if (/Timed out after hitting its/.test(line)) {
      counts.lambdaTimeouts++
      return
    }
    if (line.startsWith('Lambda init error')) {
      counts.lambdaInitErrors++
      return
    }
    if (line.startsWith('{"level":"WARN"') || line.startsWith('{"level":"ERROR"') || line.startsWith('{"level":"CRITICAL"')) {
      let key = line.slice(0, 80)
      try {
        const entry = JSON.parse(line) as { level?: string; message?: string; timestamp?: string; notificationId?: string; reasons?: unknown; receiveCount?: unknown }
        key = `${entry.level}: ${entry.message}`
        if (entry.message === 'Delivery failed' && typeof entry.notificationId === 'string') {
          const failures = this.deliveryFailures.get(entry.notificationId) ?? []
          failures.push({
            at: Date.parse(entry.timestamp ?? '') || Date.now(),
            receiveCount: typeof entry.receiveCount === 'number' ? entry.receiveCount : undefined,
            reasons: Array.isArray(entry.reasons) ? entry.reasons.map(String) : [],
          })
          this.deliveryFailures.set(entry.notificationId, failures)
        }
      } catch {
        // not one JSON line: keep the start of it
      }
      counts.lambdaWarnings[key] = (counts.lambdaWarnings[key] ?? 0) + 1
      return
    }
    if (!line.startsWith('[queues]')) return
    if (/: all done( in \d+ ms)?$/.test(line)) counts.batchesAllDone++
    else if (/ done, \d+ failed \(/.test(line)) counts.batchesPartlyFailed++
    else {
      if (/failed, nothing deleted|; nothing deleted$/.test(line)) {
        counts.invocationsFailed++
        this.invocationFailures.push(Date.now())
      }
      const moving = /: (\d+) message\(s\) failed receive .* moving to /.exec(line)
      if (moving) counts.movingToDlq += Number(moving[1])
      if (/: poller \d+: /.test(line)) counts.pollerErrors++
      if (/@scheduled .* failed/.test(line)) counts.relayFailures++
      if (!moving && counts.notableWarnings.length < 6 && !/Local SQS listening|pollers, batches of|@scheduled .*: every|failed, nothing deleted: $|@scheduled .* failed: $/.test(line)) {
        counts.notableWarnings.push(line.slice(0, 300))
      }
    }
  }

  async close(): Promise<void> {
    if (this.#partial) this.#record('\n')
    if (this.#installed) {
      process.stdout.write = this.#original.stdout
      process.stderr.write = this.#original.stderr
      printTo = undefined
      this.#installed = false
    }
    await new Promise<void>((resolve) => this.#file.end(() => resolve()))
  }
}
