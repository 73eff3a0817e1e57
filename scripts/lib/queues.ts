import { GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs'

/** A client for the queues `npm start` runs locally (ARC_SQS_PORT). */
export function localSqsClient(port = Number(process.env.ARC_SQS_PORT || 9324)): { sqs: SQSClient; queueUrl: (name: string) => string } {
  const endpoint = `http://127.0.0.1:${port}`
  const sqs = new SQSClient({ endpoint, region: process.env.AWS_REGION || 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } })
  return { sqs, queueUrl: (name) => `${endpoint}/000000000000/${name}` }
}

export interface QueueDepth {
  visible: number
  inFlight: number
}

export async function queueDepth(sqs: SQSClient, queueUrl: string): Promise<QueueDepth> {
  const { Attributes = {} } = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'] }),
  )
  return { visible: Number(Attributes.ApproximateNumberOfMessages ?? 0), inFlight: Number(Attributes.ApproximateNumberOfMessagesNotVisible ?? 0) }
}

