import { UpdateCommand } from '@aws-sdk/lib-dynamodb'
import { DELIVERY_INDEX, deliveryKey } from '../../src/lib/adapters/delivery-item.ts'
import type { ChannelName } from '../../src/lib/notifications/delivery-log.ts'
import { conditional, itemsWithout, type MigrationArgs, type MigrationTool, parseMigrationArgs, plural } from './migration.ts'
import type { TablesTarget } from './tables-target.ts'

/**
 * A one-off for delivery records written before the consumer's "already
 * delivered?" check became a key lookup: each gets its `deliveryKey`, the
 * key of the byNotification index, as the consumer writes it now. Until then
 * a copy of such an old notification that gets past the idempotency guard (its
 * claim expired with a cut-off invocation) is not recognised by its record.
 * Each write is conditional on the record still existing without a key and
 * naming the same notification and channel, so running it twice, or beside
 * the consumer, changes nothing twice.
 */

export const DELIVERY_KEY_TABLES = ['deliveries'] as const
export type DeliveryKeyTarget = TablesTarget<(typeof DELIVERY_KEY_TABLES)[number]>

export const MIGRATE_DELIVERIES_USAGE = `Usage: npm run migrate-deliveries -- [--env staging|production] [--dry-run]

Gives every delivery record written before "already delivered?" became a key
lookup its lookup key (deliveryKey, the key of the ${DELIVERY_INDEX} index), so
that the consumer also recognises those deliveries by their record. A record
that has its key is left as it is; running it twice changes nothing.

Options:
  --env staging|production  the deployed stack (default: the local tables of
                            npm start, on ARC_TABLES_PORT, default 5555)
  --dry-run                 count what would change, write nothing
  -h, --help                show this text
`

/** The parsed arguments, or 'help'; anything else is a UsageError. */
export function parseDeliveriesArgs(argv: string[]): MigrationArgs | 'help' {
  const parsed = parseMigrationArgs(argv, {})
  if (parsed === 'help') return 'help'
  const { values: _none, ...args } = parsed
  return args
}

/** One record's key, written only while the record exists, has none, and still names this notification and channel. */
export function deliveryKeyUpdate(table: string, record: { taskId: string; sk: string; notificationId: string; channel: ChannelName }) {
  return {
    TableName: table,
    Key: { taskId: record.taskId, sk: record.sk },
    UpdateExpression: 'SET #key = :key',
    ConditionExpression: 'attribute_exists(#task) AND attribute_not_exists(#key) AND #notification = :notification AND #channel = :channel',
    ExpressionAttributeNames: { '#key': 'deliveryKey', '#task': 'taskId', '#notification': 'notificationId', '#channel': 'channel' },
    ExpressionAttributeValues: { ':key': deliveryKey(record.notificationId, record.channel), ':notification': record.notificationId, ':channel': record.channel },
  }
}

export interface DeliveryKeyReport {
  keyed: number
  /** Deleted (expired) or keyed by someone else meanwhile: left as they are. */
  skipped: number
  /** No notification id or channel to make a key of: left as they are. */
  unreadable: number
}

/** Every record without a key gets one; none is read twice or written twice. */
export async function migrateDeliveries(target: DeliveryKeyTarget, args: Pick<MigrationArgs, 'dryRun'>): Promise<DeliveryKeyReport> {
  const report: DeliveryKeyReport = { keyed: 0, skipped: 0, unreadable: 0 }
  const table = target.tables.deliveries
  for await (const item of itemsWithout(target, table, 'deliveryKey', ['taskId', 'sk', 'notificationId', 'channel'])) {
    const { taskId, sk, notificationId, channel } = item
    if (typeof notificationId !== 'string' || !notificationId || typeof channel !== 'string' || !channel || channel.includes('#')) {
      report.unreadable++
      continue
    }
    const record = { taskId: String(taskId), sk: String(sk), notificationId, channel: channel as ChannelName }
    const written = args.dryRun || (await conditional(() => target.db.send(new UpdateCommand(deliveryKeyUpdate(table, record)))))
    if (written) report.keyed++
    else report.skipped++
  }
  return report
}

/** What the run did (or, dry, would do), in the counts an operator checks. */
export function formatDeliveryKeys(report: DeliveryKeyReport, args: Pick<MigrationArgs, 'dryRun'>, where: string): string {
  const lines = [`${args.dryRun ? 'Dry run on' : 'On'} ${where}:`, `  ${plural(report.keyed, 'delivery record')} ${args.dryRun ? 'would get' : 'got'} a lookup key`]
  if (report.skipped) lines.push(`  ${plural(report.skipped, 'record')} skipped: expired or keyed meanwhile`)
  if (report.unreadable) lines.push(`  ${plural(report.unreadable, 'record')} left as they are: no notification id or channel to make a key of`)
  if (args.dryRun) lines.push('Nothing was written.')
  return lines.join('\n')
}

/** `npm run migrate-deliveries`. */
export const MIGRATE_DELIVERIES: MigrationTool<MigrationArgs, (typeof DELIVERY_KEY_TABLES)[number]> = {
  usage: MIGRATE_DELIVERIES_USAGE,
  tables: DELIVERY_KEY_TABLES,
  parse: parseDeliveriesArgs,
  run: async (target, args) => formatDeliveryKeys(await migrateDeliveries(target, args), args, target.where),
}
