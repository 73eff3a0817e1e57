import { DLQ_USAGE, type DlqArgs, parseDlqArgs } from './lib/dlq-args.ts'
import { UsageError } from './lib/command-line.ts'
import { deployedTarget, type DlqTarget, localTarget } from './lib/dlq-target.ts'
import { peek, purge, replay, stats } from './lib/dlq.ts'

// `npm run dlq -- stats|peek|replay|purge [--env staging|production] [--yes] [--max N] [--queue NAME]`:
// looks into a queue's DLQ and moves its messages back, locally or on AWS.
// Exit codes: 0 done, 1 failed or refused, 2 bad command line.

const CONNECTION_ERRORS = new Set(['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'EHOSTUNREACH', 'ETIMEDOUT'])

/** One line an operator can act on, instead of a stack trace. */
function explain(error: unknown, args: DlqArgs, target: DlqTarget | undefined): string {
  if (!(error instanceof Error)) return String(error)
  const code = (error as NodeJS.ErrnoException).code
  if (code && CONNECTION_ERRORS.has(code)) {
    return `Cannot reach ${target?.where ?? 'AWS'} (${code})${target?.local ? ': is npm start running?' : ''}`
  }
  if (error.name === 'QueueDoesNotExist') {
    return `No queue "${target?.queue.name}" or "${target?.dlq.name}" on ${target?.where ?? 'SQS'}: is --queue ${args.queue} in app.arc, and is that app running?`
  }
  return error.name === 'Error' ? error.message : `${error.name}: ${error.message}`
}

function run(args: DlqArgs, target: DlqTarget): Promise<number> {
  switch (args.command) {
    case 'stats':
      return stats(target)
    case 'peek':
      return peek(target, args.max)
    case 'replay':
      return replay(target)
    case 'purge':
      return purge(target, args.yes)
  }
}

let args: DlqArgs | 'help'
try {
  args = parseDlqArgs(process.argv.slice(2))
} catch (error) {
  if (!(error instanceof UsageError)) throw error
  console.error(`${error.message}\n\n${DLQ_USAGE}`)
  process.exit(2)
}
if (args === 'help') {
  console.log(DLQ_USAGE)
} else {
  let target: DlqTarget | undefined
  try {
    target = args.env ? await deployedTarget(args.queue, args.env) : localTarget(args.queue)
    process.exitCode = await run(args, target)
  } catch (error) {
    console.error(explain(error, args, target))
    process.exitCode = 1
  } finally {
    target?.sqs.destroy()
  }
}
