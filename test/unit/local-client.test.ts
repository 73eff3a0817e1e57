import { ListQueuesCommand, SQSClient } from '@aws-sdk/client-sqs'
import { once } from 'node:events'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import test from 'tape'
import { localClientConfig } from '../../src/lib/adapters/local-client.ts'

/**
 * The local tools' and the dashboard's SDK clients make one attempt per call,
 * so none may ride on a kept-alive socket the local server could close under
 * it: each call has a connection of its own.
 */
test('a local client opens a new connection for every call and asks the server to close it', async (t) => {
  const sockets = new Set<unknown>()
  const connectionHeaders: string[] = []
  const server = createServer((request, response) => {
    sockets.add(request.socket)
    connectionHeaders.push(String(request.headers.connection))
    response.setHeader('content-type', 'application/x-amz-json-1.0')
    response.end('{"QueueUrls":[]}')
  }).listen(0, '127.0.0.1')
  await once(server, 'listening')
  const sqs = new SQSClient(localClientConfig(`http://127.0.0.1:${(server.address() as AddressInfo).port}`, 'us-east-1'))
  try {
    for (let call = 0; call < 3; call++) await sqs.send(new ListQueuesCommand({}))
    t.deepEqual(connectionHeaders, ['close', 'close', 'close'], 'Connection: close on every call')
    t.equal(sockets.size, 3, 'three calls, three connections')
    t.equal(await sqs.config.maxAttempts(), 1, 'one attempt: a local server that is not running fails the call at once')
  } finally {
    sqs.destroy()
    server.close()
  }
})
