import type { EventPublisher, TaskEvent } from '../messages/contract.ts'
import type { LazySqs } from './sqs.ts'

/** Publishes task events to the notifications queue: `event` attribute, JSON body. */
export class SqsEventPublisher implements EventPublisher {
  readonly #sqs: LazySqs
  readonly #queueUrl: string

  constructor(sqs: LazySqs, queueUrl: string) {
    this.#sqs = sqs
    this.#queueUrl = queueUrl
  }

  async publish(event: TaskEvent): Promise<void> {
    const { client, commands } = await this.#sqs()
    await client.send(
      new commands.SendMessageCommand({
        QueueUrl: this.#queueUrl,
        MessageBody: JSON.stringify(event.body),
        MessageAttributes: { event: { DataType: 'String', StringValue: event.event } },
      }),
    )
  }
}
