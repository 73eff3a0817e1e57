import { request as httpRequest, type IncomingMessage } from 'node:http'
import { request as httpsRequest } from 'node:https'

export interface GetJsonOptions {
  /** The whole exchange, connection to last byte. */
  timeoutMs: number
  /** Answers longer than this are refused, not read on. */
  maxBytes: number
}

/**
 * `GET url` and its JSON answer, through `node:http`/`node:https`: a 200 only,
 * no redirect followed, the body read up to a bound. Not `fetch`: its first use
 * loads Node's fetch implementation, about 70 ms of every fresh process, and
 * the sandbox starts one per request. Errors name what went wrong, never the
 * URL.
 */
export function getJson(url: URL, options: GetJsonOptions): Promise<unknown> {
  // Static imports: `import('node:http')` builds an ES module facade of all of
  // node:http, whose lazy exports load that same fetch implementation.
  const request = url.protocol === 'https:' ? httpsRequest : httpRequest
  return new Promise((resolve, reject) => {
    const fail = (reason: string): void => {
      outgoing.destroy()
      reject(new Error(reason))
    }
    const timer = setTimeout(() => fail(`no answer within ${options.timeoutMs} ms`), options.timeoutMs)
    const outgoing = request(url, { method: 'GET', headers: { accept: 'application/json' } }, (response: IncomingMessage) => {
      if (response.statusCode !== 200) {
        fail(`answered ${response.statusCode ?? 'nothing'}`)
        return
      }
      const chunks: Buffer[] = []
      let size = 0
      response.on('data', (chunk: Buffer) => {
        size += chunk.length
        if (size > options.maxBytes) fail(`answer longer than ${options.maxBytes} bytes`)
        else chunks.push(chunk)
      })
      response.on('end', () => {
        try {
          resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')))
        } catch {
          reject(new Error('answer is not JSON'))
        }
      })
    })
    outgoing.on('error', (error: NodeJS.ErrnoException) => reject(new Error(error.code ?? error.name)))
    // However the exchange ends (answered, refused, destroyed), the deadline goes with it.
    outgoing.on('close', () => clearTimeout(timer))
    outgoing.end()
  })
}
