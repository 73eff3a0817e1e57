import type { ControlMessage, ControlSender } from '../leveling/control.ts'
import type { LazySqs } from './sqs.ts'

/** Entries SQS did not take are sent again this often before the send fails. */
const ATTEMPTS = 3

/** Control messages onto the `consumer-control` queue, each with its DelaySeconds, in one batch. */
export class SqsControlSender implements ControlSender {
  readonly #sqs: LazySqs
  readonly #queueUrl: string | undefined

  constructor(sqs: LazySqs, queueUrl: string | undefined) {
    this.#sqs = sqs
    this.#queueUrl = queueUrl
  }

  async send(messages: readonly { message: ControlMessage; delaySeconds: number }[]): Promise<void> {
    if (!this.#queueUrl) throw new Error('CONSUMER_CONTROL_QUEUE_URL is not set: the consumer cannot be paused or resumed')
    const { client, commands } = await this.#sqs()
    let entries = messages.map(({ message, delaySeconds }, index) => ({ Id: String(index), MessageBody: JSON.stringify(message), DelaySeconds: delaySeconds }))
    for (let attempt = 1; entries.length > 0; attempt++) {
      const { Failed = [] } = await client.send(new commands.SendMessageBatchCommand({ QueueUrl: this.#queueUrl, Entries: entries }))
      const failedIds = new Set(Failed.map((failure) => failure.Id))
      entries = entries.filter((entry) => failedIds.has(entry.Id))
      if (entries.length > 0 && attempt >= ATTEMPTS) {
        throw new Error(`SQS did not take ${entries.length} control message(s): ${Failed.map((failure) => `${failure.Code}: ${failure.Message}`).join('; ')}`)
      }
    }
  }
}
