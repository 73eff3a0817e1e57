import { runsOnNode, warmFunctionOf, type InventoryLambda, type WarmFunction } from 'arc-plugin-sqs-queues/warm-function'
import { LocalSchedules, type ScheduledFunction } from './schedules.ts'

/** The slice of an inventory's @scheduled Lambda this plugin reads. */
type ScheduledLambda = ScheduledFunction & InventoryLambda

/** The slice of Architect's plugin arguments this plugin reads. */
interface SandboxStartArgs {
  inventory: { inv: { scheduled?: ScheduledLambda[] | null } }
  invoke(options: { pragma: string; name: string; payload: unknown }): Promise<unknown>
}

const log = {
  info: (message: string) => console.log(`[scheduled] ${message}`),
  warn: (message: string) => console.warn(`[scheduled] ${message}`),
}

let running: { schedules: LocalSchedules; environments: WarmFunction[] } | undefined

/**
 * This app's local runner of `@scheduled` functions (stock sandbox never runs
 * them): each `rate(...)` function on its rate or every LOCAL_SCHEDULE_SECONDS
 * (schedules.ts). A Node.js function runs in a warm environment kept between
 * runs, as Lambda keeps one (the queue plugin's WarmFunction, with the
 * variables sandbox gives every Lambda, which it has put in process.env while
 * plugins start); any other runtime through sandbox's own invoker. Deployed,
 * EventBridge runs them.
 */
export default {
  sandbox: {
    async start({ inventory, invoke }: SandboxStartArgs) {
      const env = { ...process.env }
      const environments: WarmFunction[] = []
      const invokers = new Map<string, () => Promise<unknown>>()
      for (const lambda of inventory.inv.scheduled ?? []) {
        if (!runsOnNode(lambda)) {
          invokers.set(lambda.name, () => invoke({ pragma: 'scheduled', name: lambda.name, payload: {} }))
          continue
        }
        const environment = warmFunctionOf(`@scheduled ${lambda.name}`, lambda, env)
        environments.push(environment)
        invokers.set(lambda.name, () => environment.invoke({}))
      }
      const schedules = new LocalSchedules()
      schedules.start(inventory.inv.scheduled ?? [], (name) => invokers.get(name)?.() ?? Promise.resolve(undefined), log)
      running = { schedules, environments }
    },

    async end() {
      running?.schedules.stop()
      await Promise.all(running?.environments.map((environment) => environment.stop()) ?? [])
      running = undefined
    },
  },
}
