import { SQSClient, type Message, type ServiceInputTypes, type ServiceOutputTypes } from '@aws-sdk/client-sqs'
import type { SQSRecord } from 'aws-lambda'
import test from 'tape'
import { deletedAfterFailureInGroup, describeNotDeleted, EventSourceMapping, inChunks, recordsToDelete } from 'arc-plugin-sqs-queues/event-source-mapping'
import { LocalQueueEvents, type LocalQueueEvent } from 'arc-plugin-sqs-queues/local-events'

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

test('FIFO: a record reported done after an earlier failure of its message group is found (Lambda deletes it: the group runs out of order)', (t) => {
  const inGroup = (messageId: string, group?: string): SQSRecord => ({ messageId, attributes: group === undefined ? {} : { MessageGroupId: group } }) as SQSRecord
  const fifoBatch = [inGroup('a1', 'a'), inGroup('b1', 'b'), inGroup('a2', 'a'), inGroup('a3', 'a'), inGroup('b2', 'b')]
  const deleted = (failedIds: string[]) => recordsToDelete(fifoBatch, { batchItemFailures: failedIds.map((itemIdentifier) => ({ itemIdentifier })) }).remove
  t.deepEqual(ids(deletedAfterFailureInGroup(fifoBatch, deleted(['a2']))), ['a3'], 'a3 deleted after a2 failed')
  t.deepEqual(ids(deletedAfterFailureInGroup(fifoBatch, deleted(['a2', 'a3']))), [], 'the first failure and the rest of its group reported: in order')
  t.deepEqual(ids(deletedAfterFailureInGroup(fifoBatch, deleted(['b1', 'b2', 'a3']))), [], 'other groups are not concerned')
  t.deepEqual(ids(deletedAfterFailureInGroup([inGroup('s1'), inGroup('s2')], [inGroup('s2')])), [], 'a standard queue has no groups')
  t.end()
})

test('deletes go in requests of at most 10 entries, as SQS takes them', (t) => {
  const sizes = (count: number) => inChunks(Array.from({ length: count }, (_, index) => index), 10).map((chunk) => chunk.length)
  t.deepEqual(sizes(0), [])
  t.deepEqual(sizes(1), [1])
  t.deepEqual(sizes(10), [10])
  t.deepEqual(sizes(11), [10, 1])
  t.deepEqual(sizes(25), [10, 10, 5])
  t.deepEqual(inChunks(['a', 'b', 'c'], 2), [['a', 'b'], ['c']], 'in order, nothing lost')
  t.end()
})

test('what was not deleted is described by reason, with its message ids', (t) => {
  const line = describeNotDeleted([
    { record: record('a'), reason: 'ReceiptHandleIsInvalid: stale' },
    { record: record('b'), reason: 'TimeoutError: no answer' },
    { record: record('c'), reason: 'ReceiptHandleIsInvalid: stale' },
  ])
  t.equal(line, 'ReceiptHandleIsInvalid: stale: a, c; TimeoutError: no answer: b')
  t.end()
})

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

/** An SQS client answered in process: each command's output comes from `answer`, nothing goes on the wire. */
function answeredClient(answer: (command: string, input: ServiceInputTypes) => Promise<ServiceOutputTypes>): SQSClient {
  const client = new SQSClient({ region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } })
  client.middlewareStack.add((_next, context) => async (args) => ({ output: await answer(context.commandName ?? '', args.input), response: {} }), {
    step: 'initialize',
    priority: 'high',
  })
  return client
}

test('a batch of 25 is deleted in three requests; failed entries and a refused request are logged with their ids', async (t) => {
  const handles = Array.from({ length: 25 }, (_, index) => `h${index}`)
  const waiting: Message[] = handles.map((handle, index) => ({ MessageId: `m${index}`, ReceiptHandle: handle, Body: '{}', Attributes: { ApproximateReceiveCount: '1' } }))
  const deleteRequests: string[][] = []
  const client = answeredClient(async (command, input) => {
    if (command === 'ReceiveMessageCommand' && 'MaxNumberOfMessages' in input) {
      const Messages = waiting.splice(0, input.MaxNumberOfMessages ?? 1)
      // An empty receive is a long poll on SQS: without a pause the poller would starve the event loop.
      if (Messages.length === 0) await sleep(20)
      return { $metadata: {}, Messages }
    }
    if (command !== 'DeleteMessageBatchCommand' || !('Entries' in input)) throw new Error(`unexpected ${command}`)
    const entries = input.Entries ?? []
    deleteRequests.push(entries.map((entry) => ('ReceiptHandle' in entry ? (entry.ReceiptHandle ?? '') : '')))
    if (deleteRequests.length === 2) throw new Error('connection reset')
    const Failed = deleteRequests.length === 1 ? ['3', '7'].map((Id) => ({ Id, SenderFault: true, Code: 'ReceiptHandleIsInvalid', Message: 'stale' })) : []
    return { $metadata: {}, Successful: entries.filter((entry) => !Failed.some((failed) => failed.Id === entry.Id)).map(({ Id }) => ({ Id })), Failed }
  })
  const lines = { info: [] as string[], warn: [] as string[] }
  const invoked: number[] = []
  const mapping = new EventSourceMapping({
    client,
    queue: { name: 'q', batchSize: 25, batchWindow: 1, maxConcurrency: 1, maxReceiveCount: 5, visibilityTimeout: 30, retentionDays: 4, dlqRetentionDays: 14, consumerTimeout: 10 },
    queueUrl: 'http://127.0.0.1:1/000000000000/q',
    queueArn: 'arn:aws:sqs:us-east-1:000000000000:q',
    region: 'us-east-1',
    environment: () => ({
      invoke: async (event) => {
        invoked.push(event.Records.length)
        return { batchItemFailures: [] }
      },
      stop: async () => {},
    }),
    log: { info: (line) => lines.info.push(line), warn: (line) => lines.warn.push(line) },
  })
  mapping.start()
  for (let waited = 0; deleteRequests.length < 3 && waited < 5000; waited += 20) await sleep(20)
  await mapping.stop()
  client.destroy()

  t.deepEqual(invoked, [25], 'one invocation with all 25 records')
  t.deepEqual(
    deleteRequests.map((handles) => handles.length),
    [10, 10, 5],
    'deleted in requests of 10, 10 and 5',
  )
  t.deepEqual(deleteRequests.flat(), handles, 'each record asked to be deleted once, in order')
  const notDeleted = lines.warn.filter((line) => line.includes('not deleted'))
  t.equal(notDeleted.length, 1, 'one warning line for the batch')
  const line = notDeleted[0] ?? ''
  t.ok(line.includes('batch #1 (poller 1, 25 records): 12 of 25 done but not deleted'), line)
  t.ok(line.includes('ReceiptHandleIsInvalid: stale: m3, m7'), 'failed entries by id')
  t.ok(line.includes(`Error: connection reset: ${Array.from({ length: 10 }, (_, index) => `m${index + 10}`).join(', ')}`), 'the refused request by ids')
  t.ok(lines.info.some((info) => info.includes('batch #1 (poller 1, 25 records): all done')), 'the batch line is kept')
})

test('each batch is an event as it starts and ends, with the invocations in flight; a last failed receive is a DLQ move', async (t) => {
  const waiting: Message[] = [
    { MessageId: 'ok', ReceiptHandle: 'h-ok', Body: '{}', Attributes: { ApproximateReceiveCount: '1' } },
    { MessageId: 'poison', ReceiptHandle: 'h-poison', Body: '{}', Attributes: { ApproximateReceiveCount: '2' } },
  ]
  const client = answeredClient(async (command, input) => {
    if (command === 'ReceiveMessageCommand' && 'MaxNumberOfMessages' in input) {
      const Messages = waiting.splice(0, input.MaxNumberOfMessages ?? 1)
      if (Messages.length === 0) await sleep(20)
      return { $metadata: {}, Messages }
    }
    if (command === 'DeleteMessageBatchCommand' && 'Entries' in input) return { $metadata: {}, Successful: (input.Entries ?? []).map(({ Id }) => ({ Id })), Failed: [] }
    throw new Error(`unexpected ${command}`)
  })
  const events = new LocalQueueEvents()
  const seen: LocalQueueEvent[] = []
  events.subscribe((event) => seen.push(event))
  // Both invocations wait for each other, so both are in flight at once.
  let release = (): void => {}
  const bothStarted = new Promise<void>((resolve) => (release = resolve))
  let started = 0
  const mapping = new EventSourceMapping({
    client,
    queue: { name: 'q', batchSize: 1, batchWindow: 0, maxConcurrency: 2, maxReceiveCount: 2, visibilityTimeout: 30, retentionDays: 4, dlqRetentionDays: 14, consumerTimeout: 10 },
    queueUrl: 'http://127.0.0.1:1/000000000000/q',
    queueArn: 'arn:aws:sqs:us-east-1:000000000000:q',
    region: 'us-east-1',
    environment: () => ({
      invoke: async (event) => {
        if (++started === 2) release()
        await bothStarted
        const id = event.Records[0]?.messageId ?? ''
        return { batchItemFailures: id === 'poison' ? [{ itemIdentifier: id }] : [] }
      },
      stop: async () => {},
    }),
    log: { info: () => {}, warn: () => {} },
    events,
  })
  mapping.start()
  for (let waited = 0; seen.filter((event) => event.type === 'batch-finished').length < 2 && waited < 5000; waited += 20) await sleep(20)
  await mapping.stop()
  client.destroy()

  const startedEvents = seen.flatMap((event) => (event.type === 'batch-started' ? [event] : []))
  t.deepEqual(startedEvents.map((event) => [event.queue, event.size, event.inFlight]), [['q', 1, 1], ['q', 1, 2]], 'two batches start; the second sees both in flight')
  t.deepEqual(new Set(startedEvents.map((event) => event.poller)), new Set([1, 2]), 'one per poller')
  const finished = seen.flatMap((event) => (event.type === 'batch-finished' ? [event] : []))
  t.deepEqual(
    finished.map((event) => [event.deleted, event.failed]).sort(),
    [[0, 1], [1, 0]],
    'one batch done and deleted, one with its record failed',
  )
  t.deepEqual(finished.map((event) => event.inFlight).sort(), [0, 1], 'in flight goes back to 0')
  t.ok(finished.every((event) => event.durationMs >= 0 && event.error === undefined), 'each with its duration and no invocation error')
  const moved = seen.filter((event) => event.type === 'dead-lettered')
  t.deepEqual(moved, [{ type: 'dead-lettered', queue: 'q', dlq: 'q-dlq', messageIds: ['poison'], at: moved[0]?.at }], 'the record that failed its last receive goes to the DLQ')
})

test("a record carries the message's AWSTraceHeader in its attributes, as Lambda hands it on; a message without one has none", async (t) => {
  const trace = 'Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1'
  const waiting: Message[] = [
    { MessageId: 'traced', ReceiptHandle: 'h1', Body: '{}', Attributes: { ApproximateReceiveCount: '1', AWSTraceHeader: trace } },
    { MessageId: 'plain', ReceiptHandle: 'h2', Body: '{}', Attributes: { ApproximateReceiveCount: '1' } },
  ]
  const asked: unknown[] = []
  const client = answeredClient(async (command, input) => {
    if (command === 'ReceiveMessageCommand' && 'MaxNumberOfMessages' in input) {
      asked.push('AttributeNames' in input ? input.AttributeNames : undefined)
      const Messages = waiting.splice(0, input.MaxNumberOfMessages ?? 1)
      if (Messages.length === 0) await sleep(20)
      return { $metadata: {}, Messages }
    }
    if (command === 'DeleteMessageBatchCommand' && 'Entries' in input) return { $metadata: {}, Successful: (input.Entries ?? []).map(({ Id }) => ({ Id })), Failed: [] }
    throw new Error(`unexpected ${command}`)
  })
  const records: SQSRecord[] = []
  const mapping = new EventSourceMapping({
    client,
    queue: { name: 'q', batchSize: 10, batchWindow: 0, maxConcurrency: 2, maxReceiveCount: 5, visibilityTimeout: 30, retentionDays: 4, dlqRetentionDays: 14, consumerTimeout: 10 },
    queueUrl: 'http://127.0.0.1:1/000000000000/q',
    queueArn: 'arn:aws:sqs:us-east-1:000000000000:q',
    region: 'us-east-1',
    environment: () => ({
      invoke: async (event) => {
        records.push(...event.Records)
        return { batchItemFailures: [] }
      },
      stop: async () => {},
    }),
    log: { info: () => {}, warn: () => {} },
  })
  mapping.start()
  for (let waited = 0; records.length < 2 && waited < 5000; waited += 20) await sleep(20)
  await mapping.stop()
  client.destroy()
  const byId = Object.fromEntries(records.map((item) => [item.messageId, item.attributes]))
  t.equal(byId.traced?.AWSTraceHeader, trace, 'the traced message hands its header on')
  t.notOk(byId.plain && 'AWSTraceHeader' in byId.plain, 'the other has no such attribute')
  t.ok(asked.every((names) => JSON.stringify(names) === JSON.stringify(['All'])), 'the receives ask for every system attribute')
})
