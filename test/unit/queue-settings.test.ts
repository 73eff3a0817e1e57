import test from 'tape'
import { queueKinds, readQueueSettings, type QueueSource } from 'arc-plugin-sqs-queues/settings'

const valid = { fifo: false, batchSize: 10, batchWindow: 1, maxConcurrency: 2, maxReceiveCount: 3, visibilityTimeout: 60, retentionDays: 4, dlqRetentionDays: 14 }

function source(keys: Record<string, unknown>, consumerTimeout = 30, aws?: unknown[]): QueueSource {
  return { queues: [{ notifications: keys as never }], aws, consumerTimeouts: { notifications: consumerTimeout } }
}

function problemOf(keys: Record<string, unknown>, consumerTimeout?: number, aws?: unknown[]): string {
  try {
    readQueueSettings(source(keys, consumerTimeout, aws))
    return 'accepted'
  } catch (error) {
    return (error as Error).message
  }
}

test('the @queues keys of app.arc become the queue settings', (t) => {
  t.deepEqual(readQueueSettings(source(valid)), [
    { name: 'notifications', batchSize: 10, batchWindow: 1, maxConcurrency: 2, maxReceiveCount: 3, visibilityTimeout: 60, retentionDays: 4, dlqRetentionDays: 14, consumerTimeout: 30 },
  ])
  t.deepEqual(readQueueSettings(source({ fifo: false }))[0], {
    name: 'notifications', batchSize: 10, batchWindow: 0, maxConcurrency: 2, maxReceiveCount: 5, visibilityTimeout: 180, retentionDays: 4, dlqRetentionDays: 14, consumerTimeout: 30,
  }, 'absent keys take the documented defaults: AWS guidance, 5 receives and 6x the consumer timeout')
  t.equal(readQueueSettings(source({ fifo: false, batchWindow: 10 }, 20))[0]?.visibilityTimeout, 130, 'the default visibility is 6x the consumer timeout plus the batch window')
  t.equal(readQueueSettings(source({ ...valid, batchSize: 500, batchWindow: 5 }))[0]?.batchSize, 500, 'batchSize above 10 with a batch window')
  t.end()
})

test('combinations AWS would refuse fail with a message naming the key', (t) => {
  t.match(problemOf({ ...valid, batchSize: 11, batchWindow: 0 }), /batchSize 11 is above 10, which AWS allows only with batchWindow of at least 1 second/)
  t.match(problemOf({ ...valid, maxConcurrency: 1 }), /maxConcurrency must be a whole number from 2 to 1000, got 1/)
  t.match(problemOf({ ...valid, batchSize: 0 }), /batchSize must be a whole number from 1 to 10000, got 0/)
  t.match(problemOf({ ...valid, batchSize: 10_001, batchWindow: 1 }), /batchSize must be a whole number from 1 to 10000/)
  t.match(problemOf({ ...valid, batchWindow: 301 }), /batchWindow must be a whole number from 0 to 300/)
  t.match(problemOf({ ...valid, maxReceiveCount: 0 }), /maxReceiveCount must be a whole number from 1 to 1000/)
  t.match(problemOf({ ...valid, retentionDays: 15 }), /retentionDays must be a whole number from 1 to 14/)
  t.match(problemOf({ ...valid, batchSize: 'ten' }), /batchSize must be a whole number from 1 to 10000, got "ten"/)
  t.match(problemOf({ ...valid, visibilityTimeout: 29 }, 30), /visibilityTimeout 29s is below the consumer's timeout of 30s/)
  t.equal(problemOf({ ...valid, visibilityTimeout: 30 }, 30), 'accepted', 'a visibility timeout equal to the consumer timeout is enough')
  t.equal(problemOf({ ...valid, visibilityTimeout: 5, maxReceiveCount: 1 }, 5), 'accepted', 'short settings below AWS guidance stay allowed (tests use them)')
  t.match(problemOf({ ...valid, dlqRetentionDays: 3 }), /dlqRetentionDays 3 is below retentionDays 4/)
  t.match(problemOf({ ...valid, batchsize: 5 }), /unknown key "batchsize"/, 'a misspelt key is not silently ignored')
  t.end()
})

test("FIFO is Architect's default: the queue's fifo key, else @aws fifo, else true", (t) => {
  const fifoOf = (keys: Record<string, unknown>, aws?: unknown[]) => readQueueSettings(source(keys, 30, aws))[0]?.fifo
  t.deepEqual(fifoOf({}), { contentBasedDeduplication: true }, 'no key: FIFO, content-based deduplication on, as Architect deploys it')
  t.deepEqual(fifoOf({ fifo: true, contentBasedDeduplication: false }), { contentBasedDeduplication: false }, 'deduplication ids then come from the producer')
  t.equal(fifoOf({ fifo: false }), undefined, 'fifo false: a standard queue')
  t.equal(fifoOf({}, [['runtime', 'nodejs24.x'], ['fifo', false]]), undefined, '@aws fifo false makes every queue standard')
  t.deepEqual(fifoOf({ fifo: true }, [['fifo', false]]), { contentBasedDeduplication: true }, "the queue's own key wins over @aws")
  t.deepEqual(
    queueKinds({ queues: ['jobs', { events: { fifo: false } }, { orders: { contentBasedDeduplication: false } }], aws: undefined }),
    [{ name: 'jobs', fifo: { contentBasedDeduplication: true } }, { name: 'events' }, { name: 'orders', fifo: { contentBasedDeduplication: false } }],
    'the kinds set.env names the local queues by, unchecked',
  )
  t.end()
})

test('FIFO limits as AWS sets them: batches of 10 at most, no batching window; content-based deduplication is FIFO only', (t) => {
  const fifo = { batchSize: 10, maxConcurrency: 2, maxReceiveCount: 5 }
  t.equal(problemOf(fifo), 'accepted')
  t.match(problemOf({ ...fifo, batchSize: 11 }), /batchSize 11 on a FIFO queue: AWS allows at most 10 records per batch from a FIFO queue \(batchSize from 1 to 10; or add "fifo false"/)
  t.match(problemOf({ ...fifo, batchSize: 100, batchWindow: 5 }), /batchSize 100 on a FIFO queue/, 'a batch window does not lift it')
  t.match(problemOf({ ...fifo, batchWindow: 1 }), /batchWindow 1 on a FIFO queue: AWS supports no batching window for FIFO queues \(batchWindow 0;/)
  t.match(problemOf({ ...valid, contentBasedDeduplication: true }), /contentBasedDeduplication is for FIFO queues only/)
  t.match(problemOf({ fifo: 'yes' }), /fifo must be true or false, got "yes"/)
  t.match(problemOf({ contentBasedDeduplication: 1 }), /contentBasedDeduplication must be true or false, got 1/)
  t.match(problemOf({}, 30, [['fifo', 'no']]), /@aws fifo must be true or false, got "no"/)
  t.end()
})

test('every problem is listed at once', (t) => {
  const message = problemOf({ ...valid, maxConcurrency: 1, batchSize: 0 })
  t.match(message, /^Invalid queue settings in app.arc:\n- /)
  t.equal(message.split('\n- ').length - 1, 2)
  t.end()
})
