import { parseCommandLine, UsageError, type DeployedEnv } from './command-line.ts'

/** The command line of `npm run outbox`. */
export const OUTBOX_COMMANDS = ['parked', 'retry'] as const
export type OutboxCommand = (typeof OUTBOX_COMMANDS)[number]

export interface OutboxArgs {
  command: OutboxCommand
  /** Absent: the local tables of `npm start`. */
  env?: DeployedEnv
  /** Absent: every task with parked events. */
  task?: string
}

export const OUTBOX_USAGE = `Usage: npm run outbox -- <command> [options]

Shows and retries task events the outbox relay parked because SQS kept
refusing them (the OutboxParkedAlarm alarm). Reads every outbox shard of the
app's OUTBOX_SHARDS: locally from this environment or .env, deployed from
npx arc env (docs/scale.md).

Commands:
  parked   list the parked events: task id, event, version, since when, why
  retry    move the parked events back into their task's outbox (in order,
           refusals reset); the relay publishes them on its next run

Options:
  --task ID                 only this task's parked events
  --env staging|production  the deployed stack (default: the local tables of
                            npm start, on ARC_TABLES_PORT, default 5555)
  -h, --help                show this text
`

/** The parsed arguments, or 'help'; anything else is a UsageError. */
export function parseOutboxArgs(argv: string[]): OutboxArgs | 'help' {
  const parsed = parseCommandLine(argv, OUTBOX_COMMANDS, { task: { type: 'string' } })
  if (parsed === 'help') return 'help'
  const { command, env, values } = parsed
  // A DynamoDB key is 1..2048 bytes; anything else is no task's id.
  if (values.task !== undefined && (values.task.length === 0 || Buffer.byteLength(values.task) > 2048)) {
    throw new UsageError('--task must be a task id')
  }
  return { command, ...(env !== undefined && { env }), ...(values.task !== undefined && { task: values.task }) }
}
