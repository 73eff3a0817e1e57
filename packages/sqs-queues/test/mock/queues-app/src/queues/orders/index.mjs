import { appendFileSync } from 'node:fs'
import { join } from 'node:path'

// An ES module consumer of a FIFO queue: records each record it is handed, in order.
export async function handler (event) {
  for (const record of event.Records) {
    const line = {
      payload: JSON.parse(record.body),
      group: record.attributes.MessageGroupId,
      receiveCount: Number(record.attributes.ApproximateReceiveCount),
      batchSize: event.Records.length,
      at: Date.now(),
    }
    appendFileSync(join(process.env.RECEIPTS_DIR, 'orders.jsonl'), JSON.stringify(line) + '\n')
  }
}
