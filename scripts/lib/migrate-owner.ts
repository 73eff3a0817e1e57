import { parseArgs } from 'node:util'
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb'
import { GetCommand, paginateScan, UpdateCommand } from '@aws-sdk/lib-dynamodb'
import { DEPLOYED_ENVS, type DeployedEnv, UsageError } from './command-line.ts'
import type { TablesTarget } from './tables-target.ts'

/**
 * A one-off for data written before tasks had owners: every task, tombstone
 * and delivery record without an `ownerId` gets one. Until then no caller
 * sees them (404, not listed, no delivery records shown). Each write is
 * conditional on the item still existing without an owner, so an owner is
 * never overwritten and a deleted item never comes back; running it twice
 * changes nothing the first run did.
 */

export const MIGRATION_TABLES = ['tasks', 'deliveries'] as const
export type MigrationTarget = TablesTarget<(typeof MIGRATION_TABLES)[number]>

export interface MigrateArgs {
  owner: string
  /** Absent: the local tables of `npm start`. */
  env?: DeployedEnv
  dryRun: boolean
}

export const MIGRATE_USAGE = `Usage: npm run migrate-owner -- --owner SUB [--env staging|production] [--dry-run]

Gives every task, tombstone and delivery record written before tasks had
owners (no ownerId) an owner: the caller whose token has this sub. Until
then no caller sees them. An owner already set is never changed; a delivery
record whose task already has an owner gets that owner instead.

Options:
  --owner SUB               the token subject (sub) that is to own the data
  --env staging|production  the deployed stack (default: the local tables of
                            npm start, on ARC_TABLES_PORT, default 5555)
  --dry-run                 count what would change, write nothing
  -h, --help                show this text
`

const isDeployedEnv = (value: string): value is DeployedEnv => (DEPLOYED_ENVS as readonly string[]).includes(value)

/** The parsed arguments, or 'help'; anything else is a UsageError. */
export function parseMigrateArgs(argv: string[]): MigrateArgs | 'help' {
  let parsed
  try {
    parsed = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: { owner: { type: 'string' }, env: { type: 'string' }, 'dry-run': { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h', default: false } },
    })
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error))
  }
  const { values } = parsed
  if (values.help) return 'help'
  // The owner keys an index: DynamoDB holds key values of 1..2048 bytes (and a token's sub is never empty).
  if (values.owner === undefined) throw new UsageError('Missing --owner: the sub of the caller who is to own the data')
  if (values.owner.trim() === '' || Buffer.byteLength(values.owner) > 2048) throw new UsageError('--owner must be a token subject (sub) of 1 to 2048 bytes')
  if (values.env !== undefined && !isDeployedEnv(values.env)) throw new UsageError(`--env must be staging or production, got "${values.env}"`)
  return { owner: values.owner, ...(values.env !== undefined && { env: values.env }), dryRun: values['dry-run'] }
}

/**
 * The write that gives one item an owner: only while it exists (an update
 * would otherwise create it anew) and has none (a caller's own task, or an
 * earlier run's owner, is never overwritten).
 */
export function ownerUpdate(table: string, key: Record<string, string>, owner: string) {
  return {
    TableName: table,
    Key: key,
    UpdateExpression: 'SET #owner = :owner',
    ConditionExpression: `attribute_exists(#key) AND attribute_not_exists(#owner)`,
    ExpressionAttributeNames: { '#owner': 'ownerId', '#key': Object.keys(key)[0] ?? 'id' },
    ExpressionAttributeValues: { ':owner': owner },
  }
}

/**
 * Whose a delivery record is: its task's owner when the task (or its
 * tombstone) still has one, since the record tells of that task; only a
 * record whose task is unowned or gone takes the owner given.
 */
export function deliveryOwner(taskOwner: string | undefined, given: string): string {
  return taskOwner ?? given
}

export interface MigrationReport {
  tasks: number
  tombstones: number
  /** Given the owner by someone else meanwhile, or deleted: left as they are. */
  tasksSkipped: number
  deliveries: number
  /** Of `deliveries`: those that took their task's owner rather than the one given. */
  deliveriesOfOwnedTasks: number
  deliveriesSkipped: number
}

const plural = (count: number, noun: string): string => `${count} ${noun}${count === 1 ? '' : 's'}`

/** What the run did (or, dry, would do), in the counts an operator checks. */
export function formatMigration(report: MigrationReport, args: Pick<MigrateArgs, 'owner' | 'dryRun'>, where: string): string {
  const verb = args.dryRun ? 'would get' : 'got'
  const others = report.deliveriesOfOwnedTasks ? `, ${report.deliveriesOfOwnedTasks} of them their task's owner instead` : ''
  const lines = [
    `${args.dryRun ? 'Dry run on' : 'On'} ${where}, for owner ${JSON.stringify(args.owner)}:`,
    `  ${plural(report.tasks, 'task')} and ${plural(report.tombstones, 'tombstone')} ${verb} the owner`,
    `  ${plural(report.deliveries, 'delivery record')} ${verb} an owner${others}`,
  ]
  const skipped = report.tasksSkipped + report.deliveriesSkipped
  if (skipped) lines.push(`  ${plural(skipped, 'item')} skipped: given an owner or deleted meanwhile (${plural(report.tasksSkipped, 'task')}, ${plural(report.deliveriesSkipped, 'delivery record')})`)
  if (args.dryRun) lines.push('Nothing was written.')
  return lines.join('\n')
}

/** True when it wrote; false when its condition no longer held. */
async function conditional(write: () => Promise<unknown>): Promise<boolean> {
  try {
    await write()
    return true
  } catch (error) {
    if (error instanceof ConditionalCheckFailedException) return false
    throw error
  }
}

/** The items without an owner, as a one-off may find them: a scan of the whole table (the app itself never scans). */
async function* unowned(target: MigrationTarget, table: string, attributes: string[]): AsyncGenerator<Record<string, unknown>> {
  const names = Object.fromEntries([...attributes, 'ownerId'].map((name) => [`#${name}`, name]))
  const pages = paginateScan(
    { client: target.db },
    { TableName: table, ConsistentRead: true, FilterExpression: 'attribute_not_exists(#ownerId)', ProjectionExpression: attributes.map((name) => `#${name}`).join(', '), ExpressionAttributeNames: names },
  )
  for await (const page of pages) yield* page.Items ?? []
}

/** Tasks and tombstones first, so that their delivery records find them owned. */
export async function migrateOwner(target: MigrationTarget, args: Pick<MigrateArgs, 'owner' | 'dryRun'>): Promise<MigrationReport> {
  const report: MigrationReport = { tasks: 0, tombstones: 0, tasksSkipped: 0, deliveries: 0, deliveriesOfOwnedTasks: 0, deliveriesSkipped: 0 }
  const { tasks, deliveries } = target.tables
  for await (const item of unowned(target, tasks, ['id', 'tombstone'])) {
    const written = args.dryRun || (await conditional(() => target.db.send(new UpdateCommand(ownerUpdate(tasks, { id: String(item.id) }, args.owner)))))
    if (!written) report.tasksSkipped++
    else if (item.tombstone) report.tombstones++
    else report.tasks++
  }
  const taskOwners = new Map<string, string | undefined>()
  const taskOwner = async (taskId: string): Promise<string | undefined> => {
    if (!taskOwners.has(taskId)) {
      const { Item } = await target.db.send(new GetCommand({ TableName: tasks, Key: { id: taskId }, ConsistentRead: true, ProjectionExpression: 'ownerId' }))
      // A dry run wrote nothing: an unowned task there stands for one given the owner.
      taskOwners.set(taskId, typeof Item?.ownerId === 'string' ? Item.ownerId : undefined)
    }
    return taskOwners.get(taskId)
  }
  for await (const item of unowned(target, deliveries, ['taskId', 'sk'])) {
    const taskId = String(item.taskId)
    const found = await taskOwner(taskId)
    const owner = deliveryOwner(found, args.owner)
    const written = args.dryRun || (await conditional(() => target.db.send(new UpdateCommand(ownerUpdate(deliveries, { taskId, sk: String(item.sk) }, owner)))))
    if (!written) {
      report.deliveriesSkipped++
      continue
    }
    report.deliveries++
    if (owner !== args.owner) report.deliveriesOfOwnedTasks++
  }
  return report
}
