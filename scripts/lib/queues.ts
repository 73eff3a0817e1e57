import { GetQueueAttributesCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs'

/** A client for the queues `npm start` runs locally (ARC_SQS_PORT). */
export function localSqsClient(port = Number(process.env.ARC_SQS_PORT || 9324)): { sqs: SQSClient; queueUrl: (name: string) => string } {
  const endpoint = `http://127.0.0.1:${port}`
  const sqs = new SQSClient({ endpoint, region: process.env.AWS_REGION || 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } })
  return { sqs, queueUrl: (name) => `${endpoint}/000000000000/${name}` }
}

export interface QueueDepth {
  visible: number
  inFlight: number
  /** Sent with a DelaySeconds not over yet (a retry's or a deferral's copy): neither visible nor in flight. */
  delayed: number
}

/** Depth of a queue, as SQS counts it (the local queue counts the same way). */
export async function queueDepth(sqs: SQSClient, queueUrl: string): Promise<QueueDepth> {
  const { Attributes = {} } = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible', 'ApproximateNumberOfMessagesDelayed'] }),
  )
  return {
    visible: Number(Attributes.ApproximateNumberOfMessages ?? 0),
    inFlight: Number(Attributes.ApproximateNumberOfMessagesNotVisible ?? 0),
    delayed: Number(Attributes.ApproximateNumberOfMessagesDelayed ?? 0),
  }
}

/** Reads every message of a queue without deleting it (each becomes visible again after `visibilitySeconds`). */
export async function drainView(sqs: SQSClient, queueUrl: string, visibilitySeconds = 30): Promise<{ body: string; event: string | undefined }[]> {
  const seen: { body: string; event: string | undefined }[] = []
  for (;;) {
    const { Messages = [] } = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0, MessageAttributeNames: ['All'], VisibilityTimeout: visibilitySeconds }),
    )
    if (Messages.length === 0) return seen
    for (const message of Messages) seen.push({ body: message.Body ?? '', event: message.MessageAttributes?.event?.StringValue })
  }
}

