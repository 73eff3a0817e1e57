import { createServer, request, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { SendMessageCommandInput, SendMessageCommandOutput } from '@aws-sdk/client-sqs'
import test from 'tape'
import { listeningServerOn, sendMessageOf, takeOverQueuePublishes } from '../src/sandbox-event-bus.ts'

/**
 * The event bus takeover on a server of the test's own, standing in for
 * sandbox's: what reaches SendMessage, what stays with the bus's own listener,
 * and giving the bus back.
 */
const targets = new Map([
  ['jobs', { queueUrl: 'http://127.0.0.1:1/000000000000/jobs', fifo: false }],
  ['orders', { queueUrl: 'http://127.0.0.1:1/000000000000/orders.fifo', fifo: true }],
])

function post(server: Server, path: string, body: string, headers: Record<string, string> = {}): Promise<{ status: number; text: string }> {
  const { port } = server.address() as AddressInfo
  return new Promise((resolve, reject) => {
    const sent = request({ host: '127.0.0.1', port, method: 'POST', path, headers }, (response) => {
      let text = ''
      response.on('data', (chunk: Buffer) => (text += chunk.toString()))
      response.on('end', () => resolve({ status: response.statusCode ?? 0, text }))
    })
    sent.on('error', reject)
    sent.end(body)
  })
}

test('sendMessageOf: the SendMessage arc.queues.publish makes on AWS', (t) => {
  t.deepEqual(sendMessageOf({ name: 'jobs', payload: { a: 1 } }, targets.get('jobs')!), { QueueUrl: targets.get('jobs')!.queueUrl, MessageBody: '{"a":1}', DelaySeconds: 0 }, 'standard: no group, no delay')
  t.equal(sendMessageOf({ name: 'jobs', payload: 'x', delaySeconds: 7 }, targets.get('jobs')!).DelaySeconds, 7, 'delaySeconds')
  t.equal(sendMessageOf({ name: 'orders', payload: {}, groupID: 'g' }, targets.get('orders')!).MessageGroupId, 'g', 'FIFO: groupID')
  t.equal(sendMessageOf({ name: 'orders', payload: {} }, targets.get('orders')!).MessageGroupId, 'orders', "FIFO without groupID: the queue's name")
  t.equal(sendMessageOf({ name: 'orders', payload: {} }, targets.get('orders')!).MessageDeduplicationId, undefined, 'no deduplication id: the queue decides')
  t.end()
})

test('the bus: POST /queues to SendMessage, the rest to its own listener, given back on restore', async (t) => {
  const seenByBus: string[] = []
  const server = createServer((request, response) => {
    seenByBus.push(`${request.method} ${request.url}`)
    request.resume()
    response.end('bus')
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.equal(listeningServerOn((server.address() as AddressInfo).port), server, 'found by its port, from the net.server.listen channel')

  const sent: SendMessageCommandInput[] = []
  const restore = takeOverQueuePublishes(server, {
    targets,
    send: async (input) => {
      sent.push(input)
      if (input.DelaySeconds === 901) throw Object.assign(new Error('Value 901 for parameter DelaySeconds is invalid.'), { name: 'InvalidParameterValue', $metadata: { httpStatusCode: 400 } })
      return { MessageId: 'm-1', MD5OfMessageBody: 'md5', $metadata: {} } as SendMessageCommandOutput
    },
    log: { warn: () => {} },
  })

  const published = await post(server, '/queues', JSON.stringify({ name: 'orders', payload: { n: 1 }, groupID: 'g1' }))
  t.equal(published.status, 200)
  t.equal(JSON.parse(published.text).MessageId, 'm-1', 'answers the SendMessage result')
  t.deepEqual(sent[0], { QueueUrl: targets.get('orders')!.queueUrl, MessageBody: '{"n":1}', DelaySeconds: 0, MessageGroupId: 'g1' })

  const refused = await post(server, '/queues', JSON.stringify({ name: 'jobs', payload: {}, delaySeconds: 901 }))
  t.deepEqual([refused.status, refused.text], [400, 'InvalidParameterValue: Value 901 for parameter DelaySeconds is invalid.'], "SQS's refusal, with its status")
  t.equal((await post(server, '/queues', JSON.stringify({ name: 'jobs' }))).status, 400, 'no payload: 400')
  t.equal((await post(server, '/queues', JSON.stringify({ name: 'nope', payload: 1 }))).status, 404, 'an unknown queue: 404')
  t.equal((await post(server, '/queues', 'x'.repeat(3 * 1024 * 1024))).status, 413, 'a body far above 1 MiB: refused')
  t.equal((await post(server, '/queues', JSON.stringify({ name: 'jobs', payload: 1 }), { origin: 'http://evil.example' })).status, 403, 'a web page: refused')

  const event = await post(server, '/events', JSON.stringify({ name: 'ping', payload: 1 }))
  t.deepEqual([event.status, event.text], [200, 'bus'], '@events: the bus answers')
  t.deepEqual(seenByBus, ['POST /events'], 'and only they reached it')
  t.equal(sent.length, 2, 'only the valid publishes were sent')

  restore()
  t.equal((await post(server, '/queues', JSON.stringify({ name: 'jobs', payload: 1 }))).text, 'bus', 'restored: the bus has its requests back')
  t.equal(server.listenerCount('request'), 1)
  await new Promise((resolve) => server.close(resolve))
  t.equal(listeningServerOn((server.address() as AddressInfo | null)?.port ?? -1), undefined, 'a closed server is forgotten')
})
