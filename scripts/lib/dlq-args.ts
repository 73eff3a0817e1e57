import { parseArgs } from 'node:util'

/** The command line of `npm run dlq`. */
export const DLQ_COMMANDS = ['stats', 'peek', 'replay', 'purge'] as const
export type DlqCommand = (typeof DLQ_COMMANDS)[number]

export const DEPLOYED_ENVS = ['staging', 'production'] as const
export type DeployedEnv = (typeof DEPLOYED_ENVS)[number]

export interface DlqArgs {
  command: DlqCommand
  /** Absent: the local queues of `npm start`. */
  env?: DeployedEnv
  queue: string
  /** peek: at most this many messages. */
  max: number
  /** purge: no question asked. */
  yes: boolean
}

export const DLQ_USAGE = `Usage: npm run dlq -- <command> [options]

Looks into a queue's dead-letter queue (DLQ) and moves its messages back.

Commands:
  stats    message counts of the queue and its DLQ
  peek     show up to --max DLQ messages; every one stays in the DLQ
  replay   move every DLQ message back to the queue, with a progress line
           (Ctrl-C stops watching, not the move; replay again to watch it)
  purge    delete every DLQ message (asks first)

Options:
  --env staging|production  the deployed stack (default: the local queues of
                            npm start, on ARC_SQS_PORT, default 9324)
  --queue NAME              the queue's name under @queues (default: notifications)
  --max N                   peek: show at most N messages, 1..1000 (default: 10)
  --yes                     purge: do not ask
  -h, --help                show this text
`

export class DlqUsageError extends Error {
  override readonly name = 'DlqUsageError'
}

const isOneOf = <T extends string>(values: readonly T[], value: string): value is T => (values as readonly string[]).includes(value)

/** The parsed arguments, or 'help'; anything else is a DlqUsageError. */
export function parseDlqArgs(argv: string[]): DlqArgs | 'help' {
  let parsed
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        env: { type: 'string' },
        queue: { type: 'string', default: 'notifications' },
        max: { type: 'string', default: '10' },
        yes: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    })
  } catch (error) {
    throw new DlqUsageError(error instanceof Error ? error.message : String(error))
  }
  const { values, positionals } = parsed
  if (values.help) return 'help'
  const [command, ...extra] = positionals
  if (command === undefined) throw new DlqUsageError('Missing command')
  if (!isOneOf(DLQ_COMMANDS, command)) throw new DlqUsageError(`Unknown command "${command}"`)
  if (extra.length) throw new DlqUsageError(`Unexpected argument "${extra[0]}"`)
  if (values.env !== undefined && !isOneOf(DEPLOYED_ENVS, values.env)) {
    throw new DlqUsageError(`--env must be staging or production, got "${values.env}"`)
  }
  const max = Number(values.max)
  if (!/^\d+$/.test(values.max) || max < 1 || max > 1000) throw new DlqUsageError(`--max must be a whole number from 1 to 1000, got "${values.max}"`)
  // SQS queue names allow these characters only; anything else is a typo, not a queue.
  if (!/^[A-Za-z0-9_-]{1,76}$/.test(values.queue)) throw new DlqUsageError(`--queue must be a queue name from app.arc, got "${values.queue}"`)
  return { command, env: values.env, queue: values.queue, max, yes: values.yes }
}
