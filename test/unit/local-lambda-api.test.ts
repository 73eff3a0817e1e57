import {
  GetEventSourceMappingCommand,
  LambdaClient,
  ListEventSourceMappingsCommand,
  UpdateEventSourceMappingCommand,
  type ListEventSourceMappingsCommandInput,
  type EventSourceMappingConfiguration,
} from '@aws-sdk/client-lambda'
import { SendMessageBatchCommand } from '@aws-sdk/client-sqs'
import type { SQSEvent } from 'aws-lambda'
import test from 'tape'
import { EventSourceMapping } from 'arc-plugin-sqs-queues/event-source-mapping'
import { LocalQueueEvents, type MappingStateChanged } from 'arc-plugin-sqs-queues/local-events'
import { LocalLambdaApi, localMappingUuid, mappingVariable } from 'arc-plugin-sqs-queues/local-lambda-api'
import queuesPlugin from 'arc-plugin-sqs-queues'
import { sdkRefusal as refusal } from '../helpers/refusal.ts'
import { queueDepth, queueSettings, sleep, startLocalSqs, waitFor } from '../../scripts/lib/harness/index.ts'

/**
 * The local Lambda API against the real local SQS server and a real event
 * source mapping, called with @aws-sdk/client-lambda as application code
 * calls it: a disabled mapping receives nothing (its batch under way ends),
 * an enabled one receives again, with Lambda's shapes and errors.
 */

// The mapping's configuration the tests read back through GetEventSourceMapping.
const settings = queueSettings({ name: 'orders', batchSize: 5, batchWindow: 0, maxConcurrency: 2 })
const api = new LocalLambdaApi()
const local = await startLocalSqs([settings], { lambdaApi: api })
const { address, sqs } = local
const QUEUE_URL = local.url(settings.name)
const QUEUE_ARN = local.arn(settings.name)
const UUID = localMappingUuid('shop', settings.name)

const lambda = new LambdaClient({ endpoint: address.endpoint, region: address.region, credentials: { accessKeyId: 'local', secretAccessKey: 'local' }, maxAttempts: 1 })
const events = new LocalQueueEvents()
const states: MappingStateChanged[] = []
events.subscribe((event) => {
  if (event.type === 'mapping-state') states.push(event)
})
const lines: string[] = []
const invoked: string[][] = []
/** While set, an invocation waits for it: a batch held in flight. */
let hold: Promise<void> | undefined
const mapping = new EventSourceMapping({
  client: sqs,
  queue: settings,
  queueUrl: QUEUE_URL,
  queueArn: QUEUE_ARN,
  region: address.region,
  environment: () => ({
    invoke: async (event: SQSEvent) => {
      invoked.push(event.Records.map((record) => record.body))
      await hold
      return { batchItemFailures: [] }
    },
    stop: async () => {},
  }),
  log: { info: (line) => lines.push(line), warn: (line) => lines.push(line) },
  events,
  uuid: UUID,
  functionName: 'OrdersQueueLambda',
})
api.register(mapping)
mapping.start()
test.onFinish(async () => {
  await mapping.stop()
  lambda.destroy()
  await local.close()
})

const send = (...bodies: string[]) =>
  sqs.send(new SendMessageBatchCommand({ QueueUrl: QUEUE_URL, Entries: bodies.map((body, index) => ({ Id: String(index), MessageBody: body })) }))
const stateOf = async (): Promise<string | undefined> => (await lambda.send(new GetEventSourceMappingCommand({ UUID }))).State
const bodiesInvoked = (): string[] => invoked.flat()

test('a mapping has a stable UUID per app and queue, and a variable that names it', (t) => {
  t.match(UUID, /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/, 'shaped as a UUID (version 5 layout)')
  t.equal(localMappingUuid('shop', 'orders'), UUID, 'the same names give the same UUID on every start')
  t.notEqual(localMappingUuid('shop', 'invoices'), UUID, 'another queue has another')
  t.notEqual(localMappingUuid('other-app', 'orders'), UUID, 'and so has another app')
  t.equal(mappingVariable('notifications'), 'NOTIFICATIONS_EVENT_SOURCE_MAPPING')
  t.equal(mappingVariable('consumer-control'), 'CONSUMER_CONTROL_EVENT_SOURCE_MAPPING')
  t.end()
})

test("local Lambdas get the Lambda endpoint and each queue's mapping UUID, also before the inventory knows the app's name", (t) => {
  const env = queuesPlugin.set.env({
    arc: { app: ['shop'], queues: [{ orders: { fifo: false } }] },
    // While plugins set variables, Architect's inventory has no app name yet: the manifest's is used.
    inventory: { inv: { app: '', _project: { cwd: '/tmp/shop' } } },
  }).testing
  t.equal(env.ORDERS_EVENT_SOURCE_MAPPING, UUID, "the UUID the running mapping has (app 'shop', queue 'orders')")
  t.equal(env.AWS_ENDPOINT_URL_LAMBDA, env.AWS_ENDPOINT_URL_SQS, 'the Lambda API on the SQS endpoint')
  t.end()
})

test("GetEventSourceMapping answers Lambda's configuration of the queue's mapping", async (t) => {
  const got: EventSourceMappingConfiguration = await lambda.send(new GetEventSourceMappingCommand({ UUID }))
  t.equal(got.UUID, UUID)
  t.equal(got.State, 'Enabled')
  t.equal(got.EventSourceArn, QUEUE_ARN)
  t.equal(got.FunctionArn, `arn:aws:lambda:${address.region}:000000000000:function:OrdersQueueLambda`)
  t.equal(got.BatchSize, 5)
  t.equal(got.MaximumBatchingWindowInSeconds, 0)
  t.deepEqual(got.ScalingConfig, { MaximumConcurrency: 2 })
  t.deepEqual(got.FunctionResponseTypes, ['ReportBatchItemFailures'])
  t.ok(got.LastModified instanceof Date && Math.abs(got.LastModified.getTime() - Date.now()) < 60_000, 'LastModified is a date the SDK parses')
  t.equal(got.StateTransitionReason, 'USER_INITIATED')
})

test('ListEventSourceMappings filters by function (name or ARN) and by event source', async (t) => {
  const uuids = async (input: ListEventSourceMappingsCommandInput) =>
    ((await lambda.send(new ListEventSourceMappingsCommand(input))).EventSourceMappings ?? []).map((item) => item.UUID)
  t.deepEqual(await uuids({}), [UUID], 'every mapping')
  t.deepEqual(await uuids({ FunctionName: 'OrdersQueueLambda' }), [UUID], 'by function name')
  t.deepEqual(await uuids({ FunctionName: `arn:aws:lambda:${address.region}:000000000000:function:OrdersQueueLambda` }), [UUID], 'by function ARN')
  t.deepEqual(await uuids({ EventSourceArn: QUEUE_ARN }), [UUID], 'by queue ARN')
  t.deepEqual(await uuids({ FunctionName: 'SomethingElse' }), [], 'another function has none')
  t.deepEqual(await uuids({ EventSourceArn: local.arn('elsewhere') }), [], 'another queue has none')
})

test('an unknown mapping is ResourceNotFoundException (404), for a read and for an update', async (t) => {
  const unknown = localMappingUuid('shop', 'nothing')
  for (const call of [lambda.send(new GetEventSourceMappingCommand({ UUID: unknown })), lambda.send(new UpdateEventSourceMappingCommand({ UUID: unknown, Enabled: false }))]) {
    const error = await refusal(call)
    t.equal(error.name, 'ResourceNotFoundException')
    t.equal(error.$metadata?.httpStatusCode, 404)
  }
})

test('while enabled, messages are received and handed to the consumer', async (t) => {
  await send('first')
  await waitFor('the first batch', () => bodiesInvoked().includes('first') || undefined, 5000, 20)
  t.pass('received')
})

test('Enabled=false: the batch under way finishes (Disabling), then nothing is received (Disabled); an update while Disabling is refused', async (t) => {
  let release = (): void => {}
  hold = new Promise((resolve) => (release = resolve))
  await send('in-flight')
  await waitFor('the held batch', () => bodiesInvoked().includes('in-flight') || undefined, 5000, 20)
  const updated = await lambda.send(new UpdateEventSourceMappingCommand({ UUID, Enabled: false }))
  t.equal(updated.State, 'Disabling', 'the update answers the state it moves to, as Lambda does')
  t.equal(await stateOf(), 'Disabling', 'Disabling while a batch is under way')
  const inUse = await refusal(lambda.send(new UpdateEventSourceMappingCommand({ UUID, Enabled: true })))
  t.equal(inUse.name, 'ResourceInUseException', 'no update while Disabling, as on AWS')
  release()
  hold = undefined
  await waitFor('Disabled', async () => (await stateOf()) === 'Disabled' || undefined, 5000, 20)
  t.deepEqual(await queueDepth(sqs, QUEUE_URL), { visible: 0, inFlight: 0, delayed: 0 }, 'the batch under way was deleted after it finished')

  const before = invoked.length
  await send('waits-1', 'waits-2')
  await sleep(1500)
  t.equal(invoked.length, before, 'a disabled mapping invokes nothing')
  t.deepEqual(await queueDepth(sqs, QUEUE_URL), { visible: 2, inFlight: 0, delayed: 0 }, 'the messages wait in the queue, not received (no receive spent)')
  const again = await lambda.send(new UpdateEventSourceMappingCommand({ UUID, Enabled: false }))
  t.equal(again.State, 'Disabled', 'disabling a disabled mapping changes nothing')
  t.deepEqual(
    states.map((event) => [event.state, event.enabled, event.queue, event.uuid]),
    [
      ['Disabling', false, 'orders', UUID],
      ['Disabled', false, 'orders', UUID],
    ],
    "each State is one 'mapping-state' event",
  )
  t.equal(lines.filter((line) => line.includes('event source mapping disabled')).length, 1, 'one log line for the change')
})

test('Enabled=true: the pollers receive again and the waiting messages are delivered', async (t) => {
  const updated = await lambda.send(new UpdateEventSourceMappingCommand({ UUID, Enabled: true }))
  t.equal(updated.State, 'Enabling')
  await waitFor('the waiting messages', () => ['waits-1', 'waits-2'].every((body) => bodiesInvoked().includes(body)) || undefined, 5000, 20)
  t.equal(await stateOf(), 'Enabled')
  t.deepEqual(states.at(-1) && [states.at(-1)?.state, states.at(-1)?.enabled], ['Enabled', true], "an 'Enabled' event")
  t.equal(lines.filter((line) => line.includes('event source mapping enabled')).length, 1, 'one log line for the change')
})

test('an update changes only Enabled locally: other fields are refused unless they name what the mapping is', async (t) => {
  const same = await lambda.send(new UpdateEventSourceMappingCommand({ UUID, BatchSize: 5, ScalingConfig: { MaximumConcurrency: 2 }, FunctionName: 'OrdersQueueLambda' }))
  t.equal(same.State, 'Enabled', 'the current values are accepted')
  const other = await refusal(lambda.send(new UpdateEventSourceMappingCommand({ UUID, BatchSize: 7 })))
  t.equal(other.name, 'InvalidParameterValueException')
  t.match(other.message, /BatchSize comes from the queue's keys in app\.arc/)
})

test('a malformed request is refused with a 4xx, never applied', async (t) => {
  const put = (body: string) => fetch(`${address.endpoint}/2015-03-31/event-source-mappings/${UUID}`, { method: 'PUT', body, headers: { 'content-type': 'application/json' } })
  const notJson = await put('{"Enabled": fal')
  t.equal(notJson.status, 400)
  t.equal(notJson.headers.get('x-amzn-errortype'), 'InvalidRequestContentException')
  const notBoolean = await put('{"Enabled": "false"}')
  t.equal(notBoolean.status, 400)
  t.equal(notBoolean.headers.get('x-amzn-errortype'), 'InvalidParameterValueException')
  const create = await fetch(`${address.endpoint}/2015-03-31/event-source-mappings/`, { method: 'POST', body: '{}' })
  t.equal(create.status, 400, 'no mapping is created through the API')
  t.equal(await stateOf(), 'Enabled', 'the mapping is as it was')
  const sqsStill = await queueDepth(sqs, QUEUE_URL)
  t.equal(typeof sqsStill.visible, 'number', 'the SQS routes of the same port still answer')
})
