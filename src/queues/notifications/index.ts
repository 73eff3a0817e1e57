import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch'
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda'
import { consumer } from '../../lib/app.ts'

const { notifier, guard, retries, metrics } = consumer()
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
export const handler = async (event: SQSEvent, context: Context): Promise<SQSBatchResponse> => {
  guard.registerLambdaContext(context)
  try {
    return await processPartialResponse(event, handleRecord, processor, { context, throwOnFullBatchFailure: false })
  } finally {
    // One EMF line per dimension set per invocation, also when the batch failed: failures are what the metrics are for.
    metrics.flush()
  }
}
