import { SendMessageCommand } from '@aws-sdk/client-sqs'
import test from 'tape'
import { purgeScene, takeIds, untilSettled } from './helpers/dlq-scene.ts'
import { SqsRecorder } from './helpers/sqs-recorder.ts'
import { dlqName } from 'arc-plugin-sqs-queues/local-queues'
import { freePort, queueDepth, queueSettings, runScript, type ScriptResult, startLocalSqs, takeAll } from '../scripts/lib/harness/index.ts'

/**
 * `npm run dlq` against a real local SQS server (the one `npm start` runs),
 * as a child process, checking what it prints and what it leaves in the queues.
 * No sandbox: messages go straight into the DLQ.
 */
const settings = queueSettings({ name: 'notifications', maxReceiveCount: 3, visibilityTimeout: 2, consumerTimeout: 1 })
const local = await startLocalSqs([settings])
const { sqs } = local
const QUEUE_URL = local.url(settings.name)
const DLQ_URL = local.url(dlqName(settings.name))
test.onFinish(() => void local.close())

/** Runs the tool as `npm run dlq` would; stdin is a pipe, never a terminal. */
const dlq = (args: string[], options: { port?: number; input?: string } = {}): Promise<ScriptResult> =>
  runScript('dlq', args, { env: { ARC_SQS_PORT: String(options.port ?? local.port) }, ...(options.input !== undefined && { input: options.input }) })

async function send(url: string, body: string, event = 'task_created'): Promise<string> {
  const { MessageId } = await sqs.send(
    new SendMessageCommand({ QueueUrl: url, MessageBody: body, MessageAttributes: { event: { DataType: 'String', StringValue: event } } }),
  )
  return MessageId ?? ''
}

async function emptyQueues(): Promise<void> {
  await Promise.all([takeAll(sqs, QUEUE_URL), takeAll(sqs, DLQ_URL)])
}

const taskBody = (title: string): string => JSON.stringify({ task: { id: title.toLowerCase().replace(/\W+/g, '-'), title, isComplete: false, version: 1 } })

test('a bad command line prints why and the usage, and exits 2; --help prints the usage and exits 0', async (t) => {
  // Every refusal of the parser is a unit test (test/unit/dlq-args.test.ts); one shows what the tool does with it.
  const bogus = await dlq(['bogus'])
  t.equal(bogus.code, 2, 'exits 2')
  t.match(bogus.stderr, /Unknown command "bogus"/, 'says why')
  t.match(bogus.stderr, /Usage: npm run dlq -- <command>/, 'prints the usage')
  const help = await dlq(['--help'])
  t.equal(help.code, 0, '--help exits 0')
  t.match(help.stdout, /Usage: npm run dlq -- <command>/, '--help prints the usage')
})

test('no local queue to talk to: a clear message, not a stack trace', async (t) => {
  // A free port: nothing listens there.
  const port = await freePort()
  const result = await dlq(['stats'], { port })
  t.equal(result.code, 1)
  t.match(result.stderr, new RegExp(`Cannot reach the local SQS server at http://127\\.0\\.0\\.1:${port}.*is npm start running\\?`))
  t.doesNotMatch(result.stderr, /^\s+at /m, 'no stack trace')
})

test('stats shows the counts of the queue and of its DLQ', async (t) => {
  await emptyQueues()
  for (const title of ['A', 'B', 'C']) await send(DLQ_URL, taskBody(title))
  await send(QUEUE_URL, taskBody('D'))
  const result = await dlq(['stats'])
  t.equal(result.code, 0)
  t.match(result.stdout, /^queue +messages +in flight +delayed$/m, 'a header')
  t.match(result.stdout, /^notifications +1 +0 +0$/m, 'the queue')
  t.match(result.stdout, /^notifications-dlq +3 +0 +0$/m, 'the DLQ')
})

test('peek shows the DLQ messages and leaves every one of them visible in the DLQ', async (t) => {
  await emptyQueues()
  const events = ['task_created', 'task_updated', 'task_deleted']
  const ids = [await send(DLQ_URL, taskBody('Poison one'), events[0]), await send(DLQ_URL, taskBody('Poison two'), events[1])]
  // A body long enough to be cut short.
  ids.push(await send(DLQ_URL, JSON.stringify({ items: Array.from({ length: 100 }, (_, index) => index), note: 'y'.repeat(1000) }), events[2]))

  const result = await dlq(['peek'])
  t.equal(result.code, 0)
  for (const id of ids) t.match(result.stdout, new RegExp(`message ${id}`), `shows message ${id}`)
  for (const event of events) t.match(result.stdout, new RegExp(`event ${event}`), `shows event ${event}`)
  t.match(result.stdout, /^ +"title": "Poison one",$/m, 'a JSON body is pretty-printed')
  t.match(result.stdout, /^ +"title": "Poison two",$/m)
  t.match(result.stdout, /receive count 1 +sent \d{4}-\d\d-\d\dT/, 'the receive count and the sent time')
  t.match(result.stdout, /… \(\d+ more lines\)/, 'a long body is cut short')
  t.ok(result.stdout.split('\n').length < 120, `the output stays short (${result.stdout.split('\n').length} lines)`)
  t.deepEqual(await queueDepth(sqs, DLQ_URL), { visible: 3, inFlight: 0, delayed: 0 }, 'right after, every message is visible in the DLQ again')

  const limited = await dlq(['peek', '--max', '2'])
  t.equal(limited.code, 0)
  t.equal(limited.stdout.match(/^--- \d\/2 +message /gm)?.length, 2, '--max 2 shows two messages')
  t.doesNotMatch(limited.stdout, /^--- 3\//m, 'and no third')
  t.deepEqual(await queueDepth(sqs, DLQ_URL), { visible: 3, inFlight: 0, delayed: 0 }, 'and hides none')
})

test('replay moves every DLQ message back to the queue, with a progress line', async (t) => {
  await emptyQueues()
  const sent = ['R1', 'R2', 'R3', 'R4', 'R5'].map(taskBody)
  for (const body of sent) await send(DLQ_URL, body, 'task_updated')

  const result = await dlq(['replay'])
  t.equal(result.code, 0, `exits 0 ${result.stderr}`)
  t.match(result.stdout, /Replaying notifications-dlq -> notifications: \d\/5 moved, RUNNING/, 'progress while it runs')
  t.match(result.stdout, /Replaying notifications-dlq -> notifications: 5\/5 moved, COMPLETED/, 'progress at the end')
  t.match(result.stdout, /Moved 5 messages from notifications-dlq to notifications\./)
  t.deepEqual(await queueDepth(sqs, DLQ_URL), { visible: 0, inFlight: 0, delayed: 0 }, 'the DLQ is empty')
  const moved = await takeAll(sqs, QUEUE_URL)
  t.deepEqual(moved.map((message) => message.Body).sort(), [...sent].sort(), 'the queue holds the same bodies')
  t.deepEqual(
    moved.map((message) => message.MessageAttributes?.event?.StringValue),
    sent.map(() => 'task_updated'),
    'with their event attribute',
  )

  const again = await dlq(['replay'])
  t.equal(again.code, 0, 'an empty DLQ is no failure')
  t.match(again.stdout, /notifications-dlq has no messages to replay/)
  t.deepEqual(await queueDepth(sqs, QUEUE_URL), { visible: 0, inFlight: 0, delayed: 0 }, 'and nothing moves')
})

test('purge refuses without --yes when stdin is no terminal to ask on', async (t) => {
  await emptyQueues()
  await send(DLQ_URL, taskBody('Keep one'))
  await send(DLQ_URL, taskBody('Keep two'))
  // Even a "y" on a pipe is no confirmation: scripts must say --yes.
  const result = await dlq(['purge'], { input: 'y\n' })
  t.equal(result.code, 1)
  t.match(result.stderr, /Purge 2 messages from notifications-dlq\?.*stdin is not a terminal.*--yes/)
  t.deepEqual(await queueDepth(sqs, DLQ_URL), { visible: 2, inFlight: 0, delayed: 0 }, 'every message stays')
})

test('purge --yes deletes exactly the visible messages it counted, by id: an in-flight and a delayed one stay', async (t) => {
  await emptyQueues()
  // Short, so that the test soon sees them back; long enough that the purge is over first.
  const HIDDEN_SECONDS = 10
  const scene = await purgeScene(sqs, DLQ_URL, HIDDEN_SECONDS)

  // Through a recorder, to see which SQS actions the purge takes.
  const recorder = new SqsRecorder({ host: '127.0.0.1', port: local.port })
  const recorded = new URL(await recorder.listen())
  const result = await dlq(['purge', '--yes'], { port: Number(recorded.port) })
  await recorder.close()
  t.equal(result.code, 0, `exits 0 ${result.stderr}`)
  t.notOk(recorder.actions.includes('AmazonSQS.PurgeQueue'), 'never PurgeQueue (which takes every message, here a minute later)')
  t.ok(recorder.actions.includes('AmazonSQS.DeleteMessageBatch'), 'but deletes by receipt handle')
  t.match(result.stdout, /^Purged 2 messages from notifications-dlq; left there, not counted: 1 in flight, 1 delayed, 0 newer\.$/m, 'deleted the two it counted and says what it left')
  t.ok(await untilSettled(sqs, DLQ_URL, 2, (HIDDEN_SECONDS + 5) * 1000), 'once the delay and the visibility timeout are over, two messages are visible in the DLQ')
  t.deepEqual(await takeIds(sqs, DLQ_URL), [scene.inFlightId, scene.delayedId].sort(), 'the in-flight and the delayed one, untouched')

  const empty = await dlq(['purge', '--yes'])
  t.equal(empty.code, 0)
  t.match(empty.stdout, /notifications-dlq is empty: nothing to purge/)
})
