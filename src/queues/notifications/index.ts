import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch'
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda'
import { consumer } from '../../lib/app.ts'

const { notifier, guard, retries } = consumer()
const processor = new BatchProcessor(EventType.SQS)

async function handleRecord(record: SQSRecord): Promise<void> {
  const message = {
    messageId: record.messageId,
    receiptHandle: record.receiptHandle,
    eventName: record.messageAttributes.event?.stringValue,
    body: record.body,
    receiveCount: Number(record.attributes.ApproximateReceiveCount),
  }
  try {
    await notifier.handle(message)
  } catch (error) {
    await retries.failed(message, error)
    throw error
  }
}

// Records run concurrently; only the failed ones are reported back for retry.
export const handler = (event: SQSEvent, context: Context): Promise<SQSBatchResponse> => {
  guard.registerLambdaContext(context)
  return processPartialResponse(event, handleRecord, processor, { context, throwOnFullBatchFailure: false })
}
