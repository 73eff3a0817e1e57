import { UsageError } from './lib/command-line.ts'
import { formatMigration, MIGRATE_USAGE, type MigrateArgs, migrateOwner, MIGRATION_TABLES, type MigrationTarget, parseMigrateArgs } from './lib/migrate-owner.ts'
import { deployedTablesTarget, explainTableError, localTablesTarget } from './lib/tables-target.ts'

// `npm run migrate-owner -- --owner SUB [--env staging|production] [--dry-run]`:
// the one-off that gives the tasks, tombstones and delivery records written
// before tasks had owners to one caller, locally or on AWS.
// Exit codes: 0 done, 1 failed, 2 bad command line.

let args: MigrateArgs | 'help'
try {
  args = parseMigrateArgs(process.argv.slice(2))
} catch (error) {
  if (!(error instanceof UsageError)) throw error
  console.error(`${error.message}\n\n${MIGRATE_USAGE}`)
  process.exit(2)
}
if (args === 'help') {
  console.log(MIGRATE_USAGE)
} else {
  let target: MigrationTarget | undefined
  try {
    target = args.env ? await deployedTablesTarget(MIGRATION_TABLES, args.env) : await localTablesTarget(MIGRATION_TABLES)
    const report = await migrateOwner(target, args)
    console.log(formatMigration(report, args, target.where))
  } catch (error) {
    console.error(explainTableError(error, target, target ? Object.values(target.tables).join(' or ') : 'tasks or deliveries'))
    process.exitCode = 1
  } finally {
    target?.db.destroy()
  }
}
