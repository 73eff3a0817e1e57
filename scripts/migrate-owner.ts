import { MIGRATE_OWNER } from './lib/migrate-owner.ts'
import { runMigrationTool } from './lib/migration.ts'

// `npm run migrate-owner -- --owner SUB [--env staging|production] [--dry-run]`:
// the one-off that gives the tasks, tombstones and delivery records written
// before tasks had owners to one caller, locally or on AWS.
// Exit codes: 0 done, 1 failed, 2 bad command line.
await runMigrationTool(MIGRATE_OWNER)
