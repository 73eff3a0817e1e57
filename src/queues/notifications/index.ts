import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch'
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda'
import { notifier } from '../../lib/app.ts'

const notifications = notifier()
const processor = new BatchProcessor(EventType.SQS)

const handleRecord = (record: SQSRecord): Promise<void> =>
  notifications.handle({
    messageId: record.messageId,
    eventName: record.messageAttributes.event?.stringValue,
    body: record.body,
    receiveCount: Number(record.attributes.ApproximateReceiveCount),
  })

// Records run concurrently; only the failed ones are reported back for retry.
export const handler = (event: SQSEvent, context: Context): Promise<SQSBatchResponse> =>
  processPartialResponse(event, handleRecord, processor, { context, throwOnFullBatchFailure: false })
