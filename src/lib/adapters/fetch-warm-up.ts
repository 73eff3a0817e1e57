import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { lazy } from '../lazy.ts'

/**
 * Node's fetch compiles its HTTP client (the dispatcher, the connection code,
 * the llhttp parser) on an environment's first request: about 30 ms, several
 * times that on a busy machine. A paced call must not pay that after its slot
 * (it would land next to the following slot's call), so a channel warms the
 * client up before it waits: one request to a server of its own on loopback,
 * opened for that request and closed after it; the downstream is never called.
 * Once per environment; a failed warm-up is tried again next time.
 */
export const warmUpFetch = lazy(async (): Promise<void> => {
  const server = createServer((request, response) => {
    request.resume()
    request.on('end', () => response.writeHead(204).end())
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', resolve)
  })
  try {
    const { port } = server.address() as AddressInfo
    const response = await fetch(`http://127.0.0.1:${port}/`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{}', redirect: 'manual', signal: AbortSignal.timeout(2000) })
    await response.arrayBuffer()
  } finally {
    server.closeAllConnections()
    server.close()
  }
})
