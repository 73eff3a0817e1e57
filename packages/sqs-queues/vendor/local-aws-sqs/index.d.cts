import type { IncomingMessage, ServerResponse } from 'node:http'

/**
 * The part of local-aws-sqs 2.0.2's types (its dist/**.d.ts) the plugin uses,
 * with the option the vendored fix adds (README.md, fix 3).
 */

type Bool = boolean | 'true' | 'false'
type Int = number | `${number}`

export interface InitialQueue {
  QueueName: string
  Attributes?: {
    FifoQueue?: Bool
    ContentBasedDeduplication?: Bool
    DeduplicationScope?: 'messageGroup' | 'queue'
    FifoThroughputLimit?: 'perQueue' | 'perMessageGroupId'
    DelaySeconds?: Int
    MaximumMessageSize?: Int
    MessageRetentionPeriod?: Int
    ReceiveMessageWaitTimeSeconds?: Int
    VisibilityTimeout?: Int
    RedrivePolicy?: string
    RedriveAllowPolicy?: string
    SqsManagedSseEnabled?: Bool
    Policy?: string
  }
  tags?: Record<string, string>
}

export interface ISqsServerOptions {
  port: number
  hostname?: string
  region?: string
  accountId?: string
  baseUrl?: string
  emulateQueueCreationLifecycle?: boolean
  emulateLazyQueues?: boolean
  validateDlqDestination?: boolean
  queues?: InitialQueue[]
  /** How long a FIFO queue remembers a deduplication id; SQS's 300 s by default (fix 3). */
  deduplicationIntervalSeconds?: number
}

export interface LocalQueue {
  readonly QueueName: string
  readonly FifoQueue: boolean
  ContentBasedDeduplication?: boolean
  MaximumMessageSize: number
}

export interface SqsService {
  Queues: LocalQueue[]
  deletingQueues: Set<string>
}

export declare const createRequestHandler: (options: ISqsServerOptions) => {
  service: SqsService
  requestHandler: (req: IncomingMessage, res: ServerResponse) => Promise<void>
}
