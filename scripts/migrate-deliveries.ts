import { MIGRATE_DELIVERIES } from './lib/migrate-deliveries.ts'
import { runMigrationTool } from './lib/migration.ts'

// `npm run migrate-deliveries -- [--env staging|production] [--dry-run]`: the
// one-off that gives delivery records from before "already delivered?" became
// a key lookup their lookup key, locally or on AWS.
// Exit codes: 0 done, 1 failed, 2 bad command line.
await runMigrationTool(MIGRATE_DELIVERIES)
