import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs'
import type { EventPublisher, TaskEvent } from '../messages/contract.ts'

/** Publishes task events to the notifications queue: `event` attribute, JSON body. */
export class SqsEventPublisher implements EventPublisher {
  readonly #client: () => SQSClient
  readonly #queueUrl: string

  constructor(client: () => SQSClient, queueUrl: string) {
    this.#client = client
    this.#queueUrl = queueUrl
  }

  async publish(event: TaskEvent): Promise<void> {
    await this.#client().send(
      new SendMessageCommand({
        QueueUrl: this.#queueUrl,
        MessageBody: JSON.stringify(event.body),
        MessageAttributes: { event: { DataType: 'String', StringValue: event.event } },
      }),
    )
  }
}
