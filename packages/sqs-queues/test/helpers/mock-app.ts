import { spawnSync } from 'node:child_process'
import { request } from 'node:http'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs'
import inventory from '@architect/inventory'
import sandbox from '@architect/sandbox'

/**
 * Starts one of the mock apps under test/mock/ in the real Architect sandbox,
 * with this package under its @plugins as an installed app has it, on ports
 * of its own (TEST_PORT_OFFSET moves them) so a developer's sandbox keeps
 * running beside the tests. Its consumers append what they receive to JSON
 * lines under RECEIPTS_DIR, which the test reads back.
 */
export const MOCK_DIR = join(import.meta.dirname, '..', 'mock')

const offset = Number(process.env.TEST_PORT_OFFSET || 0)
export const MOCK_PORTS = {
  PORT: 3633 + offset,
  ARC_EVENTS_PORT: 4644 + offset,
  ARC_INTERNAL_PORT: 2422 + offset,
  ARC_SQS_PORT: 9524 + offset,
} as const

export interface MockApp {
  baseUrl: string
  /** Sandbox's event bus, where @architect/functions publishes. */
  eventsUrl: string
  sqs: SQSClient
  queueUrl(name: string): string
  /** A queue's attributes, as GetQueueAttributes answers them. */
  attributes(name: string): Promise<Record<string, string>>
  /** The lines a consumer appended to RECEIPTS_DIR/<file>.jsonl so far. */
  receipts<T>(file: string): Promise<T[]>
  /** POST /publish: the mock app's route that calls arc.queues.publish (or arc.events.publish). */
  publish(body: Record<string, unknown>): Promise<{ status: number; body: { result?: unknown; error?: string } }>
  /** A raw POST to sandbox's event bus, with the headers given (Host included); answers the status. */
  postToEventBus(path: string, body: string, headers?: Record<string, string>): Promise<number>
  stop(): Promise<void>
}

export async function startMockApp(name: string): Promise<MockApp> {
  const cwd = join(MOCK_DIR, name)
  const receiptsDir = await mkdtemp(join(tmpdir(), `${name}-receipts-`))
  for (const [variable, value] of Object.entries(MOCK_PORTS)) process.env[variable] = String(value)
  // The sandbox's `env` option replaces the project's variables, the plugins' set.env included: give them back.
  const { inv } = await inventory({ cwd })
  await sandbox.start({ cwd, port: MOCK_PORTS.PORT, quiet: true, env: { ...inv._project.env.local?.testing, RECEIPTS_DIR: receiptsDir } })
  const endpoint = `http://127.0.0.1:${MOCK_PORTS.ARC_SQS_PORT}`
  const sqs = new SQSClient({ endpoint, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } })
  const baseUrl = `http://localhost:${MOCK_PORTS.PORT}`
  const queueUrl = (queue: string): string => `${endpoint}/000000000000/${queue}`
  return {
    baseUrl,
    eventsUrl: `http://localhost:${MOCK_PORTS.ARC_EVENTS_PORT}`,
    sqs,
    queueUrl,
    async attributes(queue) {
      const { Attributes = {} } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl(queue), AttributeNames: ['All'] }))
      return Attributes
    },
    async receipts<T>(file: string): Promise<T[]> {
      const text = await readFile(join(receiptsDir, `${file}.jsonl`), 'utf8').catch(() => '')
      return text
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line) as T)
    },
    async publish(body) {
      const response = await fetch(`${baseUrl}/publish`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
      return { status: response.status, body: (await response.json()) as { result?: unknown; error?: string } }
    },
    postToEventBus(path, body, headers = {}) {
      return new Promise((resolve, reject) => {
        const sent = request({ host: '127.0.0.1', port: MOCK_PORTS.ARC_EVENTS_PORT, method: 'POST', path, headers }, (response) => {
          response.resume()
          response.on('end', () => resolve(response.statusCode ?? 0))
        })
        sent.on('error', reject)
        sent.end(body)
      })
    },
    async stop() {
      sqs.destroy()
      await sandbox.end()
      await rm(receiptsDir, { recursive: true, force: true })
    },
  }
}

/** Polls `read` until `done` holds, or fails after `timeoutMs` saying what it waited for. */
export async function waitFor<T>(what: string, read: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await read()
    if (done(value)) return value
    if (Date.now() > deadline) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}; last seen: ${JSON.stringify(value)}`)
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}

/** Why a test of a Python consumer cannot run here, or undefined when python3 is on the PATH (sandbox runs `python3`). */
export function pythonMissing(): string | undefined {
  const found = spawnSync('python3', ['--version'], { encoding: 'utf8' })
  return found.status === 0 ? undefined : 'python3 is not on the PATH: sandbox runs Python consumers with it'
}
