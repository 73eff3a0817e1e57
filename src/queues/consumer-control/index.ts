import type { Context, SQSEvent } from 'aws-lambda'
import { consumerControl } from '../../lib/app.ts'
import { parseControlMessage } from '../../lib/leveling/control.ts'

const { control, metrics } = consumerControl()

/** What a reconcile leaves of the invocation: enough to fail cleanly, so SQS hands the message out again. */
const RESERVE_MS = 2000

// One control message per invocation (batchSize 1): reconcile the consumer's event source mapping, or a breaker's probe is due.
export const handler = async (event: SQSEvent, context: Context): Promise<void> => {
  const deadline = Date.now() + context.getRemainingTimeInMillis() - RESERVE_MS
  try {
    for (const record of event.Records) await control.handle(parseControlMessage(record.body), deadline)
  } finally {
    metrics.flush()
  }
}
