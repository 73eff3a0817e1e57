/**
 * CloudFormation names shared by the deploy plugin and the tools that find its
 * resources in a deployed stack (scripts/lib/dlq-target.ts): one definition.
 */

/** Architect's toLogicalID (@architect/utils): `queue-leveling` -> `QueueLeveling`, `myQueue` -> `MyQueue`. */
export function toLogicalId(name: string): string {
  let id = name.replace(/([A-Z])/g, ' $1')
  if (id.length === 1) return id.toUpperCase()
  id = id.replace(/^[\W_]+|[\W_]+$/g, '').toLowerCase()
  id = id.charAt(0).toUpperCase() + id.slice(1)
  id = id.replace(/[\W_]+(\w|$)/g, (_, ch: string) => ch.toUpperCase())
  return id === 'Get' ? 'GetIndex' : id
}

/**
 * CloudFormation logical ids of a queue, its DLQ, its consumer Lambda and its
 * event source mapping, as Architect and this plugin declare them. The
 * mapping keeps the id SAM gave the SQS event's mapping (function id + event
 * name), so a stack deployed before the mapping became explicit updates it in
 * place: a second mapping of the same queue and function is refused by Lambda.
 */
export const queueLogicalIds = (queue: string): { queue: string; dlq: string; lambda: string; event: string; mapping: string } => ({
  queue: `${toLogicalId(queue)}Queue`,
  dlq: `${toLogicalId(queue)}DeadLetterQueue`,
  lambda: `${toLogicalId(queue)}QueueLambda`,
  event: `${toLogicalId(queue)}QueueEvent`,
  mapping: `${toLogicalId(queue)}QueueLambda${toLogicalId(queue)}QueueEvent`,
})

/** `arc deploy --staging` names its stack `<App><Stage>`, e.g. QueueLevelingStaging. */
export const stackName = (app: string, stage: string): string => toLogicalId(app) + toLogicalId(stage)

