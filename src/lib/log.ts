import { Logger } from '@aws-lambda-powertools/logger'

/** Structured JSON logs; one line per event, keyed so a notification can be followed end to end. */
export const logger = new Logger({ serviceName: 'queue-leveling' })
