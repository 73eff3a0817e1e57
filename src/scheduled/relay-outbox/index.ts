import type { Context } from 'aws-lambda'
import { outboxRelay } from '../../lib/app.ts'
import { logger } from '../../lib/log.ts'

const { tasks, metrics, limit, reserveMs } = outboxRelay()

// Publishes the events whose publish failed after their write (queue unreachable, timeout, crash).
export const handler = async (_event: unknown, context: Pick<Context, 'getRemainingTimeInMillis'>) => {
  try {
    const report = await tasks.relay({ limit, remainingMs: () => context.getRemainingTimeInMillis(), reserveMs })
    if (report.published || report.refused || report.parked || report.stoppedBy) logger.info('Relay run', { ...report })
    return report
  } finally {
    metrics.flush()
  }
}
