import { createServer, type AddressInfo, type Socket } from 'node:net'
import test from 'tape'
import { getJson } from '../../src/lib/adapters/get-json.ts'
import { localServer, type LocalServer } from '../helpers/local-server.ts'

/**
 * getJson against a real server on loopback that ends the exchange every way
 * a connection can: whatever it does, the promise settles, and by the
 * deadline (here 400 ms). A pending promise would hold the key-set fetch "in
 * flight" and every request of the container behind it.
 */
const DEADLINE_MS = 400
const LIMITS = { timeoutMs: DEADLINE_MS, maxBytes: 1024 }

type Outcome = { value: unknown; ms: number } | { error: string; ms: number }

/** How getJson settled and after how long; 'pending' if it had not 2 s later (it must never be). */
async function outcomeOf(url: string): Promise<Outcome | 'pending'> {
  const started = performance.now()
  const settled = getJson(new URL(url), LIMITS).then(
    (value): Outcome => ({ value, ms: performance.now() - started }),
    (error: unknown): Outcome => ({ error: (error as Error).message, ms: performance.now() - started }),
  )
  let timer: NodeJS.Timeout | undefined
  const pending = new Promise<'pending'>((resolve) => (timer = setTimeout(() => resolve('pending'), 2000)))
  const outcome = await Promise.race([settled, pending])
  clearTimeout(timer)
  return outcome
}

async function withServer(answer: Parameters<typeof localServer>[0], check: (server: LocalServer) => Promise<void>): Promise<void> {
  const server = await localServer(answer)
  try {
    await check(server)
  } finally {
    await server.close()
  }
}

test('a 200 with JSON is the parsed answer', async (t) => {
  await withServer(
    (_request, response) => {
      response.writeHead(200, { 'content-type': 'application/json' })
      response.write('{"keys":')
      setTimeout(() => response.end('[]}'), 50)
    },
    async (server) => {
      const outcome = await outcomeOf(`${server.origin}/keys`)
      t.deepEqual(outcome !== 'pending' && 'value' in outcome ? outcome.value : outcome, { keys: [] })
    },
  )
})

test('an answer cut off mid-body (the server ends its socket, or resets it, after {"keys":[) fails at once', async (t) => {
  for (const [what, cut] of [
    ['destroyed', (socket) => socket.destroy()],
    ['reset (TCP RST)', (socket) => socket.resetAndDestroy()],
  ] as [string, (socket: Socket) => void][]) {
    await withServer(
      (_request, response) => {
        response.writeHead(200, { 'content-type': 'application/json' })
        response.write('{"keys":[', () => response.socket && cut(response.socket))
      },
      async (server) => {
        const outcome = await outcomeOf(`${server.origin}/keys`)
        t.notEqual(outcome, 'pending', `${what}: settled`)
        if (outcome === 'pending') return
        t.ok('error' in outcome && /^answer cut off/.test(outcome.error), `${what}: refused (${JSON.stringify(outcome)})`)
        t.ok(outcome.ms < DEADLINE_MS, `${what}: without waiting for the deadline (${Math.round(outcome.ms)} ms)`)
      },
    )
  }
})

test('a server that never answers, or stops mid-body, is given up at the deadline', async (t) => {
  for (const [what, answer] of [
    ['no answer at all', () => undefined],
    ['headers and half a body, then nothing', (_request, response) => response.writeHead(200).write('{"keys":[')],
  ] as [string, Parameters<typeof localServer>[0]][]) {
    await withServer(answer, async (server) => {
      const outcome = await outcomeOf(`${server.origin}/keys`)
      t.ok(outcome !== 'pending' && 'error' in outcome && outcome.error === `no answer within ${DEADLINE_MS} ms`, `${what}: ${JSON.stringify(outcome)}`)
      if (outcome !== 'pending') t.ok(outcome.ms >= DEADLINE_MS - 5 && outcome.ms < DEADLINE_MS + 300, `${what}: at the deadline (${Math.round(outcome.ms)} ms)`)
    })
  }
})

test('a refused connection fails at once', async (t) => {
  // A port that was just free: nobody listens on it.
  const probe = createServer()
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve))
  const { port } = probe.address() as AddressInfo
  await new Promise<void>((resolve) => probe.close(() => resolve()))
  const outcome = await outcomeOf(`http://127.0.0.1:${port}/keys`)
  t.ok(outcome !== 'pending' && 'error' in outcome && outcome.error === 'ECONNREFUSED' && outcome.ms < DEADLINE_MS, `ECONNREFUSED at once: ${JSON.stringify(outcome)}`)
})

test('the limits stand: a 200 only, no redirect followed, at most maxBytes, JSON only', async (t) => {
  for (const [what, answer, expected] of [
    ['a 500', (_request, response) => response.writeHead(500).end('{}'), 'answered 500'],
    ['a redirect', (_request, response) => response.writeHead(302, { location: '/elsewhere' }).end(), 'answered 302'],
    ['over maxBytes', (_request, response) => response.writeHead(200).end(JSON.stringify({ padding: 'x'.repeat(2048) })), 'answer longer than 1024 bytes'],
    ['not JSON', (_request, response) => response.writeHead(200).end('<html>'), 'answer is not JSON'],
  ] as [string, Parameters<typeof localServer>[0], string][]) {
    await withServer(answer, async (server) => {
      const outcome = await outcomeOf(`${server.origin}/keys`)
      t.ok(outcome !== 'pending' && 'error' in outcome && outcome.error === expected, `${what}: ${JSON.stringify(outcome)}`)
      if (what === 'a redirect') t.deepEqual(server.requests.map((request) => request.url), ['/keys'], 'the redirect is not followed')
    })
  }
})
