import { GetCommand, paginateQuery, UpdateCommand } from '@aws-sdk/lib-dynamodb'
import { UsageError } from './command-line.ts'
import { conditional, itemsWithout, type MigrationArgs, type MigrationTool, parseMigrationArgs, plural } from './migration.ts'
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

export interface MigrateArgs extends MigrationArgs {
  owner: string
}

export const MIGRATE_USAGE = `Usage: npm run migrate-owner -- --owner SUB [--env staging|production] [--dry-run]

Gives every task, tombstone and delivery record written before tasks had
owners (no ownerId) an owner: the caller whose token has this sub. Until
then no caller sees them. An owner already set is never changed; a delivery
record whose task already has an owner gets that owner instead, and one of a
deleted task whose other records have an owner gets theirs (a task's log is
one caller's).

Options:
  --owner SUB               the token subject (sub) that is to own the data
  --env staging|production  the deployed stack (default: the local tables of
                            npm start, on ARC_TABLES_PORT, default 5555)
  --dry-run                 count what would change, write nothing
  -h, --help                show this text
`

/** The parsed arguments, or 'help'; anything else is a UsageError. */
export function parseMigrateArgs(argv: string[]): MigrateArgs | 'help' {
  const parsed = parseMigrationArgs(argv, { owner: { type: 'string' } })
  if (parsed === 'help') return 'help'
  const { values, ...common } = parsed
  // The owner keys an index: DynamoDB holds key values of 1..2048 bytes (and a token's sub is never empty).
  if (values.owner === undefined) throw new UsageError('Missing --owner: the sub of the caller who is to own the data')
  if (values.owner.trim() === '' || Buffer.byteLength(values.owner) > 2048) throw new UsageError('--owner must be a token subject (sub) of 1 to 2048 bytes')
  return { owner: values.owner, ...common }
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
 * tombstone) still has one, since the record tells of that task; else, the
 * task gone, the owner of the task's other records, since a task's log is one
 * caller's (GET /tasks/{id}/notifications ends a log at another owner's
 * record); only a record with neither takes the owner given.
 */
export function deliveryOwner(known: { task: string | undefined; log: string | undefined }, given: string): string {
  return known.task ?? known.log ?? given
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

/** Tasks and tombstones first, so that their delivery records find them owned. */
export async function migrateOwner(target: MigrationTarget, args: Pick<MigrateArgs, 'owner' | 'dryRun'>): Promise<MigrationReport> {
  const report: MigrationReport = { tasks: 0, tombstones: 0, tasksSkipped: 0, deliveries: 0, deliveriesOfOwnedTasks: 0, deliveriesSkipped: 0 }
  const { tasks, deliveries } = target.tables
  for await (const item of itemsWithout(target, tasks, 'ownerId', ['id', 'tombstone'])) {
    const written = args.dryRun || (await conditional(() => target.db.send(new UpdateCommand(ownerUpdate(tasks, { id: String(item.id) }, args.owner)))))
    if (!written) report.tasksSkipped++
    else if (item.tombstone) report.tombstones++
    else report.tasks++
  }
  // Looked up once per task, before any of its records is written: every record of a task gets the same owner.
  const owners = new Map<string, { task: string | undefined; log: string | undefined }>()
  const ownersOf = async (taskId: string) => {
    if (!owners.has(taskId)) owners.set(taskId, { task: await taskOwner(target, taskId), log: await logOwner(target, taskId) })
    return owners.get(taskId)!
  }
  for await (const item of itemsWithout(target, deliveries, 'ownerId', ['taskId', 'sk'])) {
    const taskId = String(item.taskId)
    const known = await ownersOf(taskId)
    const owner = deliveryOwner(known, args.owner)
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

/** The owner of a task or its tombstone, if it still exists and has one (a dry run wrote none: an unowned task stands for one given the owner). */
async function taskOwner(target: MigrationTarget, taskId: string): Promise<string | undefined> {
  const { Item } = await target.db.send(new GetCommand({ TableName: target.tables.tasks, Key: { id: taskId }, ConsistentRead: true, ProjectionExpression: 'ownerId' }))
  return typeof Item?.ownerId === 'string' ? Item.ownerId : undefined
}

/** The owner of a task's delivery records that have one: the first found is all of theirs. */
async function logOwner(target: MigrationTarget, taskId: string): Promise<string | undefined> {
  const pages = paginateQuery(
    { client: target.db },
    {
      TableName: target.tables.deliveries,
      ConsistentRead: true,
      KeyConditionExpression: '#task = :task',
      FilterExpression: 'attribute_exists(#owner)',
      ProjectionExpression: '#owner',
      ExpressionAttributeNames: { '#task': 'taskId', '#owner': 'ownerId' },
      ExpressionAttributeValues: { ':task': taskId },
    },
  )
  for await (const page of pages) {
    const owner = page.Items?.[0]?.ownerId
    if (typeof owner === 'string') return owner
  }
  return undefined
}

/** `npm run migrate-owner`. */
export const MIGRATE_OWNER: MigrationTool<MigrateArgs, (typeof MIGRATION_TABLES)[number]> = {
  usage: MIGRATE_USAGE,
  tables: MIGRATION_TABLES,
  parse: parseMigrateArgs,
  run: async (target, args) => formatMigration(await migrateOwner(target, args), args, target.where),
}
