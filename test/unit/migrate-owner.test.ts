import test from 'tape'
import { UsageError } from '../../scripts/lib/command-line.ts'
import { deliveryKeyUpdate, formatDeliveryKeys, parseDeliveriesArgs } from '../../scripts/lib/migrate-deliveries.ts'
import { deliveryOwner, formatMigration, type MigrationReport, ownerUpdate, parseMigrateArgs } from '../../scripts/lib/migrate-owner.ts'

/** The pure parts of `npm run migrate-owner` and `npm run migrate-deliveries`: command lines, conditional writes, whose a record becomes, reports. */

test('arguments: --owner required, an optional stage, --dry-run', (t) => {
  t.deepEqual(parseMigrateArgs(['--owner', 'alice']), { owner: 'alice', dryRun: false })
  t.deepEqual(parseMigrateArgs(['--owner', 'auth0|42', '--env', 'production', '--dry-run']), { owner: 'auth0|42', env: 'production', dryRun: true })
  t.equal(parseMigrateArgs(['--help']), 'help')
  t.equal(parseMigrateArgs(['-h', '--owner', 'x']), 'help')
  const refused: [string[], RegExp][] = [
    [[], /Missing --owner/],
    [['--dry-run'], /Missing --owner/],
    [['--owner', ''], /--owner must be a token subject/],
    [['--owner', '  '], /--owner must be a token subject/],
    [['--owner', 'x'.repeat(2049)], /--owner must be a token subject/],
    [['--owner'], /argument missing|--owner/],
    [['--owner', 'alice', '--env', 'dev'], /--env must be staging or production, got "dev"/],
    [['--owner', 'alice', 'extra'], /positional|extra/],
    [['--owner', 'alice', '--force'], /Unknown option '--force'/],
  ]
  for (const [argv, message] of refused) {
    t.throws(() => parseMigrateArgs(argv), (error: unknown) => error instanceof UsageError && message.test(error.message), `${JSON.stringify(argv).slice(0, 60)}: ${message}`)
  }
  t.end()
})

test('the write: only an item that still exists and has no owner gets one', (t) => {
  t.deepEqual(ownerUpdate('tasks-table', { id: 't1' }, 'alice'), {
    TableName: 'tasks-table',
    Key: { id: 't1' },
    UpdateExpression: 'SET #owner = :owner',
    ConditionExpression: 'attribute_exists(#key) AND attribute_not_exists(#owner)',
    ExpressionAttributeNames: { '#owner': 'ownerId', '#key': 'id' },
    ExpressionAttributeValues: { ':owner': 'alice' },
  })
  const delivery = ownerUpdate('deliveries-table', { taskId: 't1', sk: '2026#n#webhook' }, 'bob')
  t.deepEqual([delivery.Key, delivery.ExpressionAttributeNames['#key']], [{ taskId: 't1', sk: '2026#n#webhook' }, 'taskId'], "a delivery record: by its full key, its existence told by the partition key")
  t.end()
})

test("a delivery record takes its task's owner when the task has one, else its log's, else the owner given", (t) => {
  t.equal(deliveryOwner({ task: 'bob', log: 'bob' }, 'alice'), 'bob', "bob's task: bob's record, whoever runs the migration")
  t.equal(deliveryOwner({ task: 'bob', log: undefined }, 'alice'), 'bob', "bob's task with no owned record yet: bob's")
  t.equal(deliveryOwner({ task: undefined, log: 'bob' }, 'alice'), 'bob', "a deleted task whose other records are bob's: bob's, so the log stays one caller's")
  t.equal(deliveryOwner({ task: undefined, log: undefined }, 'alice'), 'alice', 'an unowned or deleted task with no owned record: the owner given')
  t.end()
})

test('the report: counts of what got an owner, what was skipped, and whether anything was written', (t) => {
  const report: MigrationReport = { tasks: 3, tombstones: 1, tasksSkipped: 0, deliveries: 5, deliveriesOfOwnedTasks: 2, deliveriesSkipped: 0 }
  t.equal(
    formatMigration(report, { owner: 'alice', dryRun: false }, 'the local tables at http://127.0.0.1:5555'),
    [
      'On the local tables at http://127.0.0.1:5555, for owner "alice":',
      '  3 tasks and 1 tombstone got the owner',
      "  5 delivery records got an owner, 2 of them their task's owner instead",
    ].join('\n'),
  )
  t.equal(
    formatMigration({ ...report, tasks: 1, deliveriesOfOwnedTasks: 0, tasksSkipped: 1, deliveriesSkipped: 2 }, { owner: 'alice', dryRun: false }, 'stack QueueLevelingProduction in us-east-1'),
    [
      'On stack QueueLevelingProduction in us-east-1, for owner "alice":',
      '  1 task and 1 tombstone got the owner',
      '  5 delivery records got an owner',
      '  3 items skipped: given an owner or deleted meanwhile (1 task, 2 delivery records)',
    ].join('\n'),
  )
  t.equal(
    formatMigration({ ...report, deliveriesOfOwnedTasks: 0 }, { owner: 'alice', dryRun: true }, 'stack QueueLevelingProduction in us-east-1'),
    [
      'Dry run on stack QueueLevelingProduction in us-east-1, for owner "alice":',
      '  3 tasks and 1 tombstone would get the owner',
      '  5 delivery records would get an owner',
      'Nothing was written.',
    ].join('\n'),
  )
  t.end()
})

test('migrate-deliveries: an optional stage and --dry-run; the key written only to a record that still has none and names the same delivery', (t) => {
  t.deepEqual(parseDeliveriesArgs([]), { dryRun: false })
  t.deepEqual(parseDeliveriesArgs(['--env', 'staging', '--dry-run']), { env: 'staging', dryRun: true })
  t.equal(parseDeliveriesArgs(['-h']), 'help')
  for (const [argv, message] of [[['--env', 'dev'], /--env must be staging or production, got "dev"/], [['--owner', 'x'], /Unknown option '--owner'/], [['extra'], /positional|extra/]] as const) {
    t.throws(() => parseDeliveriesArgs([...argv]), (error: unknown) => error instanceof UsageError && message.test(error.message), `${JSON.stringify(argv)}: ${message}`)
  }
  t.deepEqual(deliveryKeyUpdate('deliveries-table', { taskId: 't1', sk: '2026#task_created:t1:1#email', notificationId: 'task_created:t1:1', channel: 'email' }), {
    TableName: 'deliveries-table',
    Key: { taskId: 't1', sk: '2026#task_created:t1:1#email' },
    UpdateExpression: 'SET #key = :key',
    ConditionExpression: 'attribute_exists(#task) AND attribute_not_exists(#key) AND #notification = :notification AND #channel = :channel',
    ExpressionAttributeNames: { '#key': 'deliveryKey', '#task': 'taskId', '#notification': 'notificationId', '#channel': 'channel' },
    ExpressionAttributeValues: { ':key': 'task_created:t1:1#email', ':notification': 'task_created:t1:1', ':channel': 'email' },
  })
  t.equal(
    formatDeliveryKeys({ keyed: 4, skipped: 1, unreadable: 2 }, { dryRun: false }, 'stack QueueLevelingProduction in us-east-1'),
    [
      'On stack QueueLevelingProduction in us-east-1:',
      '  4 delivery records got a lookup key',
      '  1 record skipped: expired or keyed meanwhile',
      '  2 records left as they are: no notification id or channel to make a key of',
    ].join('\n'),
  )
  t.equal(formatDeliveryKeys({ keyed: 1, skipped: 0, unreadable: 0 }, { dryRun: true }, 'x'), ['Dry run on x:', '  1 delivery record would get a lookup key', 'Nothing was written.'].join('\n'))
  t.end()
})
