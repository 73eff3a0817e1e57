import { taskService } from '../../lib/app.ts'
import { logger } from '../../lib/log.ts'

const tasks = taskService()

// Publishes the events whose publish failed after their write (queue unreachable, timeout, crash).
export const handler = async (): Promise<{ relayed: number }> => {
  const relayed = await tasks.relay()
  if (relayed) logger.info('Relayed pending outboxes', { relayed })
  return { relayed }
}
