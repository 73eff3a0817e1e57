import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch'
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda'
import { consumer } from '../../lib/app.ts'

const { notifier, guard, retries, deferrals, metrics } = consumer()
const processor = new BatchProcessor(EventType.SQS)

async function handleRecord(record: SQSRecord, deadline: number): Promise<void> {
  const message = {
    messageId: record.messageId,
    receiptHandle: record.receiptHandle,
    eventName: record.messageAttributes.event?.stringValue,
    body: record.body,
    receiveCount: Number(record.attributes.ApproximateReceiveCount),
    deadline,
  }
  try {
    const { deferredUntil } = await notifier.handle(message)
    // A delivery that must wait (its channel's breaker is open) goes again as a fresh copy; this one is done.
    if (deferredUntil !== undefined) await deferrals.resend(record, deferredUntil)
  } catch (error) {
    await retries.failed(message, error)
    throw error
  }
}

// Records run concurrently; only the failed ones are reported back for retry.
export const handler = async (event: SQSEvent, context: Context): Promise<SQSBatchResponse> => {
  guard.registerLambdaContext(context)
  const deadline = Date.now() + context.getRemainingTimeInMillis()
  try {
    return await processPartialResponse(event, (record: SQSRecord) => handleRecord(record, deadline), processor, { context, throwOnFullBatchFailure: false })
  } finally {
    // One EMF line per dimension set per invocation, also when the batch failed: failures are what the metrics are for.
    metrics.flush()
  }
}
