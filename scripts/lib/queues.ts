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

/**
 * Depth of a local queue. local-aws-sqs counts the in-flight (received, not yet
 * visible) messages inside ApproximateNumberOfMessages too, while on AWS that
 * attribute holds only the visible ones; so visible is the difference here.
 */
export async function queueDepth(sqs: SQSClient, queueUrl: string): Promise<QueueDepth> {
  const { Attributes = {} } = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'] }),
  )
  const messages = Number(Attributes.ApproximateNumberOfMessages ?? 0)
  const notVisible = Number(Attributes.ApproximateNumberOfMessagesNotVisible ?? 0)
  return { visible: Math.max(0, messages - notVisible), inFlight: notVisible }
}

