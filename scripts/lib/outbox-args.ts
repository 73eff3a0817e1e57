import { parseArgs } from 'node:util'
import { DEPLOYED_ENVS, type DeployedEnv } from './dlq-args.ts'

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
refusing them (the OutboxParkedAlarm alarm).

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

export class OutboxUsageError extends Error {
  override readonly name = 'OutboxUsageError'
}

const isOneOf = <T extends string>(values: readonly T[], value: string): value is T => (values as readonly string[]).includes(value)

/** The parsed arguments, or 'help'; anything else is an OutboxUsageError. */
export function parseOutboxArgs(argv: string[]): OutboxArgs | 'help' {
  let parsed
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        env: { type: 'string' },
        task: { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    })
  } catch (error) {
    throw new OutboxUsageError(error instanceof Error ? error.message : String(error))
  }
  const { values, positionals } = parsed
  if (values.help) return 'help'
  const [command, ...extra] = positionals
  if (command === undefined) throw new OutboxUsageError('Missing command')
  if (!isOneOf(OUTBOX_COMMANDS, command)) throw new OutboxUsageError(`Unknown command "${command}"`)
  if (extra.length) throw new OutboxUsageError(`Unexpected argument "${extra[0]}"`)
  if (values.env !== undefined && !isOneOf(DEPLOYED_ENVS, values.env)) {
    throw new OutboxUsageError(`--env must be staging or production, got "${values.env}"`)
  }
  // A DynamoDB key is 1..2048 bytes; anything else is no task's id.
  if (values.task !== undefined && (values.task.length === 0 || Buffer.byteLength(values.task) > 2048)) {
    throw new OutboxUsageError('--task must be a task id')
  }
  return { command, ...(values.env !== undefined && { env: values.env }), ...(values.task !== undefined && { task: values.task }) }
}
