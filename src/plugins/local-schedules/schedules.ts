/**
 * Runs the app's @scheduled functions locally, which stock sandbox never does:
 * each `rate(...)` function on its rate, or every LOCAL_SCHEDULE_SECONDS when set
 * (so a demo or a test need not wait minutes). `cron(...)` schedules are left to AWS.
 */
export interface ScheduledFunction {
  name: string
  rate: { value: number; interval: string } | null
}

const SECONDS: Record<string, number> = { minute: 60, minutes: 60, hour: 3600, hours: 3600, day: 86_400, days: 86_400 }

export function scheduleIntervalMs(fn: ScheduledFunction, overrideSeconds: number | undefined): number | undefined {
  if (overrideSeconds !== undefined) return overrideSeconds * 1000
  if (!fn.rate) return undefined
  const unit = SECONDS[fn.rate.interval]
  return unit === undefined ? undefined : fn.rate.value * unit * 1000
}

export class LocalSchedules {
  readonly #timers: NodeJS.Timeout[] = []

  start(
    functions: ScheduledFunction[],
    invoke: (name: string) => Promise<unknown>,
    log: { info(message: string): void; warn(message: string): void },
    env: NodeJS.ProcessEnv = process.env,
  ): void {
    const override = env.LOCAL_SCHEDULE_SECONDS ? Number(env.LOCAL_SCHEDULE_SECONDS) : undefined
    if (override !== undefined && !(override > 0)) throw new Error(`LOCAL_SCHEDULE_SECONDS must be a positive number, got ${env.LOCAL_SCHEDULE_SECONDS}`)
    for (const fn of functions) {
      const every = scheduleIntervalMs(fn, override)
      if (every === undefined) {
        log.info(`@scheduled ${fn.name}: not a rate() schedule, not run locally`)
        continue
      }
      let running = false
      const run = () => {
        // One run at a time, as a slow run must not pile up behind itself.
        if (running) return
        running = true
        invoke(fn.name)
          .catch((error: unknown) => log.warn(`@scheduled ${fn.name} failed: ${error instanceof Error ? error.message : String(error)}`))
          .finally(() => (running = false))
      }
      this.#timers.push(setInterval(run, every))
      log.info(`@scheduled ${fn.name}: every ${every / 1000}s`)
    }
  }

  stop(): void {
    for (const timer of this.#timers.splice(0)) clearInterval(timer)
  }
}
