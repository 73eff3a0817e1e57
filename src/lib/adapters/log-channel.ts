import { logger } from '../log.ts'
import type { Channel } from '../notifications/channel.ts'
import type { Notification } from '../notifications/notification.ts'

/** The log channel (NOTIFY_LOG): one structured log line per notification. */
export class LogChannel implements Channel {
  readonly name = 'log'

  async deliver(notification: Notification): Promise<void> {
    logger.info('Notification', { notification })
  }
}
