import { connect } from 'node:net'

/**
 * A bare HTTP/1.1 client over a TCP socket, for requests `fetch` will not send
 * as written: a request target with `../` or a malformed `%` escape (fetch
 * normalises and re-encodes URLs), duplicate headers (fetch joins them), header
 * values with bytes above 0x7F, and a HEAD whose answer must be checked for
 * stray body bytes (fetch drops them). One request per connection
 * (`Connection: close`), so everything the server writes after the header
 * block is the body as sent.
 */
export interface RawRequest {
  method: string
  /** The request target exactly as written on the request line, e.g. `/tasks/..%2F?limit=1`. */
  target: string
  /** Sent in this order, as latin1 bytes; a name may repeat. Host, Content-Length and Connection are added. */
  headers?: Array<[string, string]>
  body?: Buffer
}

export interface RawResponse {
  status: number
  /** Lower-case names; repeated headers joined with `, `. */
  headers: Record<string, string>
  /** The body, de-chunked when the answer was chunked. */
  body: Buffer
  /** Every byte after the header block, as it came off the wire. */
  wireBody: Buffer
  text: string
}

function dechunk(wire: Buffer): Buffer {
  const parts: Buffer[] = []
  let at = 0
  for (;;) {
    const lineEnd = wire.indexOf('\r\n', at)
    if (lineEnd < 0) throw new Error('truncated chunked body')
    const size = Number.parseInt(wire.subarray(at, lineEnd).toString('latin1').split(';')[0] ?? '', 16)
    if (!Number.isInteger(size) || size < 0) throw new Error('bad chunk size')
    if (size === 0) return Buffer.concat(parts)
    parts.push(wire.subarray(lineEnd + 2, lineEnd + 2 + size))
    at = lineEnd + 2 + size + 2
  }
}

export function rawRequest(port: number, request: RawRequest, timeoutMs = 30_000): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const lines = [`${request.method} ${request.target} HTTP/1.1`, `Host: 127.0.0.1:${port}`, 'Connection: close']
    for (const [name, value] of request.headers ?? []) lines.push(`${name}: ${value}`)
    if (request.body !== undefined) lines.push(`Content-Length: ${request.body.length}`)
    const head = Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1')
    const socket = connect(port, '127.0.0.1')
    const chunks: Buffer[] = []
    socket.setTimeout(timeoutMs, () => socket.destroy(new Error(`no answer within ${timeoutMs} ms: ${request.method} ${request.target.slice(0, 80)}`)))
    socket.on('data', (chunk: Buffer) => chunks.push(chunk))
    socket.on('error', reject)
    socket.on('close', () => {
      try {
        const all = Buffer.concat(chunks)
        const split = all.indexOf('\r\n\r\n')
        if (split < 0) throw new Error(`no complete answer (${all.length} bytes) to ${request.method} ${request.target.slice(0, 80)}`)
        const [statusLine = '', ...headerLines] = all.subarray(0, split).toString('latin1').split('\r\n')
        const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine)?.[1])
        if (!Number.isInteger(status)) throw new Error(`bad status line ${JSON.stringify(statusLine)}`)
        const headers: Record<string, string> = {}
        for (const line of headerLines) {
          const colon = line.indexOf(':')
          const name = line.slice(0, colon).trim().toLowerCase()
          const value = line.slice(colon + 1).trim()
          headers[name] = headers[name] === undefined ? value : `${headers[name]}, ${value}`
        }
        const wireBody = all.subarray(split + 4)
        let body: Buffer = wireBody
        if (request.method !== 'HEAD' && /chunked/i.test(headers['transfer-encoding'] ?? '')) body = dechunk(wireBody)
        else if (request.method !== 'HEAD' && headers['content-length'] !== undefined) body = wireBody.subarray(0, Number(headers['content-length']))
        resolve({ status, headers, body, wireBody, text: body.toString('utf8') })
      } catch (error) {
        reject(error)
      }
    })
    socket.write(request.body ? Buffer.concat([head, request.body]) : head)
  })
}
