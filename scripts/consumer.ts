import { UsageError } from './lib/command-line.ts'
import { CONSUMER_USAGE, parseConsumerArgs, type ConsumerArgs } from './lib/consumer-args.ts'
import { consumerStatus, deployedConsumerTarget, formatStatus, localConsumerTarget, pauseConsumer, resumeConsumer, type ConsumerTarget } from './lib/consumer.ts'
import { explainTableError } from './lib/tables-target.ts'
import { describeReconciled } from '../src/lib/leveling/operator.ts'

// `npm run consumer -- status|pause|resume [--env staging|production]`: the notifications
// consumer's leveling state, and the operator's pause, locally or on AWS.
// Exit codes: 0 done, 1 failed, 2 bad command line.

async function run(args: ConsumerArgs, target: ConsumerTarget): Promise<number> {
  if (args.command !== 'status') {
    const result = args.command === 'pause' ? await pauseConsumer(target) : await resumeConsumer(target)
    console.log(`${describeReconciled(args.command, result)} (${target.where})`)
  }
  for (const line of formatStatus(await consumerStatus(target), target.where)) console.log(line)
  return 0
}

let args: ConsumerArgs | 'help'
try {
  args = parseConsumerArgs(process.argv.slice(2))
} catch (error) {
  if (!(error instanceof UsageError)) throw error
  console.error(`${error.message}\n\n${CONSUMER_USAGE}`)
  process.exit(2)
}
if (args === 'help') {
  console.log(CONSUMER_USAGE)
} else {
  let target: ConsumerTarget | undefined
  try {
    target = args.env ? await deployedConsumerTarget(args.env) : await localConsumerTarget()
    process.exitCode = await run(args, target)
  } catch (error) {
    console.error(explainTableError(error, target ?? { where: args.env ? `the ${args.env} stack` : 'the local app (ARC_SQS_PORT, ARC_TABLES_PORT)', local: !args.env }, 'breakers'))
    process.exitCode = 1
  } finally {
    target?.close()
  }
}
