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
 *
 * The promise settles exactly once and always by the deadline: every way the
 * exchange can end (an answer, a request error, a response cut off mid-body,
 * a connection that closes without one) settles it, and one timer, started
 * before the connection and cleared only by settling, covers DNS, connect,
 * TLS, headers and body alike.
 */
export function getJson(url: URL, options: GetJsonOptions): Promise<unknown> {
  // Static imports: `import('node:http')` builds an ES module facade of all of
  // node:http, whose lazy exports load that same fetch implementation.
  const request = url.protocol === 'https:' ? httpsRequest : httpRequest
  return new Promise((resolve, reject) => {
    let settled = false
    const settle = (outcome: () => void): void => {
      if (settled) return
      settled = true
      clearTimeout(deadline)
      outgoing.destroy()
      outcome()
    }
    const fail = (reason: string): void => settle(() => reject(new Error(reason)))
    const deadline = setTimeout(() => fail(`no answer within ${options.timeoutMs} ms`), options.timeoutMs)
    let answered = false
    const outgoing = request(url, { method: 'GET', headers: { accept: 'application/json' } }, (response: IncomingMessage) => {
      answered = true
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
        let parsed: unknown
        try {
          parsed = JSON.parse(Buffer.concat(chunks).toString('utf8'))
        } catch {
          fail('answer is not JSON')
          return
        }
        settle(() => resolve(parsed))
      })
    })
    outgoing.on('error', (error: NodeJS.ErrnoException) => {
      const code = error.code ?? error.name
      fail(answered ? `answer cut off (${code})` : code)
    })
    // A connection that ends with no error (the server destroyed its socket mid-body) ends the exchange too:
    // the response then never emits 'end', and nothing else would settle.
    outgoing.on('close', () => fail(answered ? 'answer cut off before its end' : 'connection closed without an answer'))
    outgoing.end()
  })
}
