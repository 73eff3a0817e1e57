import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'

/** One request a LocalServer received, body read whole. */
export interface ReceivedRequest {
  method: string
  url: string
  headers: IncomingHttpHeaders
  body: string
}

export interface LocalServer {
  /** `http://127.0.0.1:<port>` */
  origin: string
  requests: ReceivedRequest[]
  close(): Promise<void>
}

/**
 * A real HTTP server on 127.0.0.1 with any free port, for channel tests: it
 * records each request, then lets `answer` write the response however it
 * likes (a redirect, a body without end, no answer at all).
 */
export async function localServer(answer: (request: ReceivedRequest, response: ServerResponse, raw: IncomingMessage) => void): Promise<LocalServer> {
  const requests: ReceivedRequest[] = []
  const server = createServer((raw, response) => {
    const chunks: Buffer[] = []
    raw.on('data', (chunk: Buffer) => chunks.push(chunk))
    raw.on('end', () => {
      const request = { method: raw.method ?? '', url: raw.url ?? '', headers: raw.headers, body: Buffer.concat(chunks).toString('utf8') }
      requests.push(request)
      answer(request, response, raw)
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    async close() {
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}
