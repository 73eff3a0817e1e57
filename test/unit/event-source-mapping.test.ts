import type { SQSRecord } from 'aws-lambda'
import test from 'tape'
import { recordsToDelete } from '../../src/plugins/sqs-queues/event-source-mapping.ts'

const record = (messageId: string): SQSRecord => ({ messageId }) as SQSRecord
const batch = [record('a'), record('b'), record('c')]
const ids = (records: SQSRecord[]) => records.map((item) => item.messageId)

test('a successful batch deletes every record but the reported failures', (t) => {
  t.deepEqual(ids(recordsToDelete(batch, { batchItemFailures: [] }).remove), ['a', 'b', 'c'])
  t.deepEqual(ids(recordsToDelete(batch, undefined).remove), ['a', 'b', 'c'], 'no response is a full success')
  const partial = recordsToDelete(batch, { batchItemFailures: [{ itemIdentifier: 'b' }] })
  t.deepEqual(ids(partial.remove), ['a', 'c'])
  t.equal(partial.failed, 1)
  t.end()
})

test('a report naming a record outside the batch deletes nothing, as on AWS', (t) => {
  const result = recordsToDelete(batch, { batchItemFailures: [{ itemIdentifier: 'b' }, { itemIdentifier: 'z' }] })
  t.deepEqual(result.remove, [])
  t.equal(result.failed, 3)
  t.match(result.problem ?? '', /"z" is not in the batch/)
  t.deepEqual(recordsToDelete(batch, { batchItemFailures: [{ itemIdentifier: '' }] }).remove, [], 'an empty id')
  t.deepEqual(recordsToDelete(batch, { batchItemFailures: [{}] }).remove, [], 'a missing id')
  t.deepEqual(recordsToDelete(batch, { batchItemFailures: 'b' }).remove, [], 'a malformed report')
  t.end()
})
