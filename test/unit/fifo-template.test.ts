import { mkdir, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import test from 'tape'
import { buildTemplate } from '../../scripts/template.ts'
import { queueLogicalIds } from 'arc-plugin-sqs-queues/names'
import type { CfnTemplate, CfnValue } from 'arc-plugin-sqs-queues/template'
import { cloudFormationSpec } from '../helpers/cloudformation-spec.ts'
import { ROOT } from '../../scripts/lib/harness/index.ts'

/**
 * The deploy of a small app of several queues, each with its own keys, through
 * the sqs-queues plugin alone (no app plugin): a FIFO queue by Architect's
 * default gets a FIFO DLQ with the same keys and a mapping with only what AWS
 * allows for FIFO; a standard queue beside it keeps the standard shape. Built
 * offline as arc deploy builds it (inventory, package, deploy.start), checked
 * against AWS's resource specification.
 */

const DAY = 86_400
const dir = join(ROOT, '.tmp', `fifo-template-${process.pid}`)
await rm(dir, { recursive: true, force: true })
await mkdir(dir, { recursive: true })
await writeFile(
  join(dir, 'app.arc'),
  `@app
mock-queues

@queues
jobs
  batchSize 5
  maxConcurrency 3
  maxReceiveCount 4
  visibilityTimeout 120
  retentionDays 2
  dlqRetentionDays 7
orders
  contentBasedDeduplication false
events
  fifo false
  batchSize 20
  batchWindow 2

@plugins
arc-plugin-sqs-queues
`,
)
const template = await buildTemplate({ cwd: dir, stage: 'staging' })
test.onFinish(() => void rm(dir, { recursive: true, force: true }))

const props = (id: string): Record<string, CfnValue> => {
  const properties = template.Resources[id]?.Properties
  if (!properties) throw new Error(`no resource ${id} with properties`)
  return properties
}
const mappingOf = (queue: string): CfnValue | undefined => props(queueLogicalIds(queue).mapping)
const arn = (id: string) => ({ 'Fn::GetAtt': [id, 'Arn'] })

test('a FIFO queue (Architect’s default) keeps FifoQueue and its deduplication, with its own keys', (t) => {
  const ids = queueLogicalIds('jobs')
  t.deepEqual(props(ids.queue), {
    FifoQueue: true,
    ContentBasedDeduplication: true,
    VisibilityTimeout: 120,
    MessageRetentionPeriod: 2 * DAY,
    RedrivePolicy: { deadLetterTargetArn: arn(ids.dlq), maxReceiveCount: 4 },
    SqsManagedSseEnabled: true,
  })
  t.equal(props(queueLogicalIds('orders').queue).ContentBasedDeduplication, false, 'contentBasedDeduplication false as app.arc says')
  t.end()
})

test('its DLQ is FIFO with the same deduplication, its retention, encryption and TLS-only policy', (t) => {
  for (const [queue, contentBased] of [['jobs', true], ['orders', false]] as const) {
    const ids = queueLogicalIds(queue)
    t.equal(template.Resources[ids.dlq]?.Type, 'AWS::SQS::Queue')
    t.deepEqual(props(ids.dlq), { FifoQueue: true, ContentBasedDeduplication: contentBased, MessageRetentionPeriod: (queue === 'jobs' ? 7 : 14) * DAY, SqsManagedSseEnabled: true }, `${queue}: FIFO DLQ`)
    for (const id of [ids.queue, ids.dlq]) {
      const statement = (props(`${id}Policy`).PolicyDocument as { Statement: { Effect: string; Condition: CfnValue }[] }).Statement[0]
      t.deepEqual([statement?.Effect, statement?.Condition], ['Deny', { Bool: { 'aws:SecureTransport': 'false' } }], `${id}: requests without TLS denied`)
    }
  }
  t.end()
})

test('the FIFO mapping has what AWS allows for FIFO: no batching window; and Architect’s reserved concurrency is gone', (t) => {
  const ids = queueLogicalIds('jobs')
  t.equal(template.Resources[ids.mapping]?.Type, 'AWS::Lambda::EventSourceMapping')
  t.deepEqual(mappingOf('jobs'), {
    FunctionName: { Ref: ids.lambda },
    EventSourceArn: arn(ids.queue),
    BatchSize: 5,
    FunctionResponseTypes: ['ReportBatchItemFailures'],
    ScalingConfig: { MaximumConcurrency: 3 },
  })
  t.equal(props(ids.lambda).ReservedConcurrentExecutions, undefined, 'maxConcurrency bounds the consumer, not Architect’s ReservedConcurrentExecutions = batchSize')
  t.equal(props(queueLogicalIds('orders').lambda).ReservedConcurrentExecutions, undefined)
  t.end()
})

test('a standard queue beside them keeps the standard shape and its own keys', (t) => {
  const ids = queueLogicalIds('events')
  t.equal(props(ids.queue).FifoQueue, undefined)
  t.equal(props(ids.queue).ContentBasedDeduplication, undefined)
  t.equal(props(ids.dlq).FifoQueue, undefined, 'a standard DLQ')
  t.deepEqual(mappingOf('events'), {
    FunctionName: { Ref: ids.lambda },
    EventSourceArn: arn(ids.queue),
    BatchSize: 20,
    MaximumBatchingWindowInSeconds: 2,
    FunctionResponseTypes: ['ReportBatchItemFailures'],
    ScalingConfig: { MaximumConcurrency: 2 },
  })
  t.end()
})

test('each mapping waits for the role that grants its queue; a consumer names the mappings of the queues declared before its own', (t) => {
  const queues = ['jobs', 'orders', 'events']
  for (const [index, queue] of queues.entries()) {
    const ids = queueLogicalIds(queue)
    t.deepEqual(template.Resources[ids.mapping]?.DependsOn, ['Role', 'ParameterStorePolicy'], `${queue}: after Architect's shared role and the policy attached to it`)
    t.equal(props(ids.lambda).Events, undefined, `${queue}: no SQS event left for SAM to make a second mapping of`)
    const variables = (props(ids.lambda).Environment as { Variables: Record<string, CfnValue> }).Variables
    // Its own mapping names it; a later queue's consumer names this one's mapping, so this consumer naming the later's would be a cycle.
    const named = queues.filter((other) => variables[`${other.toUpperCase()}_EVENT_SOURCE_MAPPING`] !== undefined)
    t.deepEqual(named, queues.slice(0, index), `${queue}'s consumer names ${index ? queues.slice(0, index).join(' and ') : 'none'}`)
    for (const other of named) t.deepEqual(variables[`${other.toUpperCase()}_EVENT_SOURCE_MAPPING`], { Ref: queueLogicalIds(other).mapping }, `${queue}'s consumer: ${other}'s by Ref`)
  }
  t.end()
})

test('every function gets every queue’s and DLQ’s URL; the role reaches exactly these six queues', (t) => {
  const variables = (props(queueLogicalIds('jobs').lambda).Environment as { Variables: Record<string, CfnValue> }).Variables
  for (const queue of ['jobs', 'orders', 'events']) {
    const ids = queueLogicalIds(queue)
    t.deepEqual(variables[`${queue.toUpperCase()}_QUEUE_URL`], { Ref: ids.queue })
    t.deepEqual(variables[`${queue.toUpperCase()}_DLQ_URL`], { Ref: ids.dlq })
  }
  const statements = (props('Role').Policies as { PolicyDocument: { Statement: { Action: string[]; Resource: CfnValue }[] } }[]).flatMap(
    (policy) => policy.PolicyDocument.Statement,
  )
  const sqs = statements.find((statement) => statement.Action.some((action) => action.startsWith('sqs:')))
  t.deepEqual(sqs?.Resource, ['jobs', 'orders', 'events'].flatMap((queue) => [arn(queueLogicalIds(queue).queue), arn(queueLogicalIds(queue).dlq)]))
  t.end()
})

test('the template conforms to AWS’s resource specification', async (t) => {
  const spec = await cloudFormationSpec()
  t.deepEqual(spec.problems(template as CfnTemplate), [])
})
