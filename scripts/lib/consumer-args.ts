import { parseCommandLine, type DeployedEnv } from './command-line.ts'

/** The command line of `npm run consumer`. */
export const CONSUMER_COMMANDS = ['status', 'pause', 'resume'] as const
export type ConsumerCommand = (typeof CONSUMER_COMMANDS)[number]

export interface ConsumerArgs {
  command: ConsumerCommand
  /** Absent: the local app of `npm start`. */
  env?: DeployedEnv
}

export const CONSUMER_USAGE = `Usage: npm run consumer -- <command> [options]

The notifications consumer and its adaptive leveling (docs/adaptive-leveling.md).

Commands:
  status   who paused it and since when, the queue's and the DLQ's depth,
           each channel's breaker and the event source mapping's state
  pause    stop consuming: messages wait in the queue, spending no receives;
           a breaker closing never lifts this pause
  resume   lift the operator's pause (an open breaker still holds it)

Options:
  --env staging|production  the deployed stack (default: the local app of
                            npm start, on ARC_SQS_PORT and ARC_TABLES_PORT)
  -h, --help                show this text
`

/** The parsed arguments, or 'help'; anything else is a UsageError. */
export function parseConsumerArgs(argv: string[]): ConsumerArgs | 'help' {
  const parsed = parseCommandLine(argv, CONSUMER_COMMANDS, {})
  if (parsed === 'help') return 'help'
  return { command: parsed.command, ...(parsed.env && { env: parsed.env }) }
}
