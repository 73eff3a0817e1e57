import { timedRequest, type Target } from './load.ts'
import { median } from './stats.ts'

/** Latency of one route measured one request at a time, so nothing queues: the sandbox's cost per request. */
export interface RouteCost {
  label: string
  samples: number[]
  medianMs: number
  failed: number
  /** Task ids a create made (they are delivered like any other). */
  taskIds: string[]
}

/**
 * Sequential requests, the routes interleaved and their order rotated every
 * round, so that a machine that gets busier or quieter meanwhile weighs on each
 * route alike. One unmeasured request per route first (first build of the code cache).
 */
export async function measureRouteCosts(
  routes: { label: string; target: Target; expect: number }[],
  rounds: number,
  onProgress: (fraction: number, detail: string) => void,
): Promise<RouteCost[]> {
  const costs = routes.map((route) => ({ label: route.label, samples: [] as number[], medianMs: NaN, failed: 0, taskIds: [] as string[] }))
  const note = (index: number, result: { status: number; body: unknown }): void => {
    const id = (result.body as { id?: unknown } | undefined)?.id
    if (result.status === 201 && typeof id === 'string') costs[index]?.taskIds.push(id)
  }
  for (const [index, route] of routes.entries()) note(index, await timedRequest(route.target, -1))
  for (let round = 0; round < rounds; round++) {
    for (let step = 0; step < routes.length; step++) {
      const index = (round + step) % routes.length
      const route = routes[index]
      const cost = costs[index]
      if (!route || !cost) continue
      const result = await timedRequest(route.target, round)
      note(index, result)
      if (result.status === route.expect) cost.samples.push(result.latencyMs)
      else cost.failed++
    }
    onProgress((round + 1) / rounds, costs.map((cost) => `${cost.label} ${median(cost.samples).toFixed(0)} ms`).join(', '))
  }
  for (const cost of costs) cost.medianMs = median(cost.samples)
  return costs
}
