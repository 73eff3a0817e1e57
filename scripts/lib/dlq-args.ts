import { parseCommandLine, UsageError, type DeployedEnv } from './command-line.ts'

export { DEPLOYED_ENVS, type DeployedEnv } from './command-line.ts'

/** The command line of `npm run dlq`. */
export const DLQ_COMMANDS = ['stats', 'peek', 'replay', 'purge'] as const
export type DlqCommand = (typeof DLQ_COMMANDS)[number]

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
  purge    delete the visible DLQ messages, exactly those it counted (asks
           first); in-flight, delayed and newer messages stay

Options:
  --env staging|production  the deployed stack (default: the local queues of
                            npm start, on ARC_SQS_PORT, default 9324)
  --queue NAME              the queue's name under @queues (default: notifications)
  --max N                   peek: show at most N messages, 1..1000 (default: 10)
  --yes                     purge: do not ask
  -h, --help                show this text
`

/** The parsed arguments, or 'help'; anything else is a UsageError. */
export function parseDlqArgs(argv: string[]): DlqArgs | 'help' {
  const parsed = parseCommandLine(argv, DLQ_COMMANDS, {
    queue: { type: 'string', default: 'notifications' },
    max: { type: 'string', default: '10' },
    yes: { type: 'boolean', default: false },
  })
  if (parsed === 'help') return 'help'
  const { command, env, values } = parsed
  const max = Number(values.max)
  if (!/^\d+$/.test(values.max) || max < 1 || max > 1000) throw new UsageError(`--max must be a whole number from 1 to 1000, got "${values.max}"`)
  // SQS queue names allow these characters only; anything else is a typo, not a queue.
  if (!/^[A-Za-z0-9_-]{1,76}$/.test(values.queue)) throw new UsageError(`--queue must be a queue name from app.arc, got "${values.queue}"`)
  return { command, env, queue: values.queue, max, yes: values.yes }
}
