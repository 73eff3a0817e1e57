import { OUTBOX_USAGE, type OutboxArgs, parseOutboxArgs } from './lib/outbox-args.ts'
import { UsageError } from './lib/command-line.ts'
import { deployedOutboxTarget, formatParked, listParked, localOutboxTarget, type OutboxTarget, retryParkedEvents } from './lib/outbox.ts'
import { explainTableError } from './lib/tables-target.ts'

// `npm run outbox -- parked|retry [--task ID] [--env staging|production]`: the task
// events the relay parked after SQS kept refusing them, listed and moved back
// into their outbox, locally or on AWS. Exit codes: 0 done, 1 failed, 2 bad command line.

async function run(args: OutboxArgs, target: OutboxTarget): Promise<number> {
  switch (args.command) {
    case 'parked': {
      console.log(formatParked(await listParked(target, args.task)))
      return 0
    }
    case 'retry': {
      const { tasks, events } = await retryParkedEvents(target, args.task)
      console.log(
        events === 0
          ? 'No parked events to retry.'
          : `Moved ${events} parked event(s) of ${tasks} task(s) back into their outbox; the relay publishes them on its next run.`,
      )
      return 0
    }
  }
}

let args: OutboxArgs | 'help'
try {
  args = parseOutboxArgs(process.argv.slice(2))
} catch (error) {
  if (!(error instanceof UsageError)) throw error
  console.error(`${error.message}\n\n${OUTBOX_USAGE}`)
  process.exit(2)
}
if (args === 'help') {
  console.log(OUTBOX_USAGE)
} else {
  let target: OutboxTarget | undefined
  try {
    target = args.env ? await deployedOutboxTarget(args.env) : await localOutboxTarget()
    process.exitCode = await run(args, target)
  } catch (error) {
    console.error(explainTableError(error, target, target?.table ?? 'tasks'))
    process.exitCode = 1
  } finally {
    target?.db.destroy()
  }
}
