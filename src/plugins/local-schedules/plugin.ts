import { LocalSchedules, type ScheduledFunction } from './schedules.ts'

/** The slice of Architect's plugin arguments this plugin reads. */
interface SandboxStartArgs {
  inventory: { inv: { scheduled?: ScheduledFunction[] | null } }
  invoke(options: { pragma: string; name: string; payload: unknown }): Promise<unknown>
}

const log = {
  info: (message: string) => console.log(`[scheduled] ${message}`),
  warn: (message: string) => console.warn(`[scheduled] ${message}`),
}

let running: LocalSchedules | undefined

/**
 * This app's local runner of `@scheduled` functions (stock sandbox never runs
 * them): each `rate(...)` function through sandbox's own invoker, on its rate
 * or every LOCAL_SCHEDULE_SECONDS (schedules.ts). Deployed, EventBridge runs them.
 */
export default {
  sandbox: {
    async start({ inventory, invoke }: SandboxStartArgs) {
      const schedules = new LocalSchedules()
      schedules.start(inventory.inv.scheduled ?? [], (name) => invoke({ pragma: 'scheduled', name, payload: {} }), log)
      running = schedules
    },

    async end() {
      running?.stop()
      running = undefined
    },
  },
}
