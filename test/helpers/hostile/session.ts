import fc from 'fast-check'
import type test from 'tape'
import type { Task } from '../../../src/lib/tasks/task.ts'
import { localConsumerTarget, pauseConsumer } from '../../../scripts/lib/consumer.ts'
import type { SandboxApp } from '../../../scripts/lib/harness/index.ts'
import { rawRequest, type RawRequest, type RawResponse } from '../hostile-raw.ts'
import { apiClient, type ApiResponse } from '../http.ts'
import { answerProblems, outcomeProblems, preview, taskProblems, type Answer, type Outcome } from './oracle.ts'

/**
 * What a hostile-input test file keeps between its properties: the endpoints
 * it sends to (the app's API with warm Lambdas, for many runs, and the
 * sandbox itself, for a few that keep the whole path honest: both are the
 * same app, on the same tables), the tasks it saw created and written (so that
 * at the end the store must hold exactly those, each as last written), and
 * the answers counted by status.
 */

export const SEED = Number(process.env.HOSTILE_SEED ?? 20251128)
/** Per property, shrinking included; an interruption fails the test. */
const TIME_LIMIT_MS = 150_000
/** Requests in flight at once in a run: the sandbox starts a process per invocation. */
export const IN_FLIGHT = 3

type Assert = test.Test

/** Where a property's requests go: the warm API or the sandbox's own HTTP server (same app, same store). */
export interface Endpoint {
  label: 'warm' | 'sandbox'
  port: number
  url: string
}

/**
 * Collects what is wrong with each answer of a run, and throws once all of
 * them are judged: every 201 of the run is recorded even when another failed.
 */
export class Verdicts {
  readonly #failures: string[] = []
  add(problems: string[], described: string): void {
    if (problems.length) this.#failures.push(`${described}\n  - ${problems.join('\n  - ')}`)
  }
  settle(): void {
    if (this.#failures.length) throw new Error(this.#failures.join('\n'))
  }
}

/** The requests of one run, at once (at most IN_FLIGHT); answers in order. */
export function together<T>(jobs: Array<() => Promise<T>>): Promise<T[]> {
  if (jobs.length > IN_FLIGHT) throw new Error(`at most ${IN_FLIGHT} requests in flight`)
  return Promise.all(jobs.map((job) => job()))
}

export const describeBody = (bytes: Buffer | undefined): string => (bytes === undefined ? 'no body' : `${bytes.length} bytes ${preview(JSON.stringify(bytes.toString('latin1')), 120)}`)

export const fromFetch = (res: ApiResponse<unknown>): Answer => ({ status: res.status, header: (name) => res.headers.get(name), text: res.text })
export const fromRaw = (res: RawResponse): Answer => ({ status: res.status, header: (name) => res.headers[name] ?? null, text: res.text, wireBytes: res.wireBody.length })

function histogram(from: Map<number, number>): string {
  return [...from.entries()]
    .sort(([a], [b]) => a - b)
    .map(([status, n]) => `${status}x${n}`)
    .join(' ')
}

export class HostileSession {
  readonly app: SandboxApp
  readonly sandbox: Endpoint
  readonly warm: Endpoint
  /** Ids of a few tasks the PUT and path properties aim at. */
  readonly targets: string[] = []
  /** Every task a 201 answered, by id. */
  readonly created = new Map<string, Task>()
  createdCount = 0
  /** The newest state of each task any 200/201 answered (highest version). */
  readonly newest = new Map<string, Task>()
  /** Versions a successful PUT produced, per task: two answers with one version would be a lost update. */
  readonly versionsSeen = new Map<string, Set<number>>()
  deletes = 0
  requests = 0
  readonly statuses = new Map<number, number>()

  /** The caller this session's requests are made as (its own, so the store checks see its tasks only). */
  readonly token: string

  private constructor(app: SandboxApp, token: string) {
    this.app = app
    this.token = token
    this.sandbox = { label: 'sandbox', port: app.ports.PORT, url: app.sandboxUrl }
    this.warm = { label: 'warm', port: app.warmApi.port, url: app.baseUrl }
  }

  /**
   * A session on a running app, its consumer paused
   * as an operator pauses it: the properties are about the API, and delivering
   * the notifications of hundreds of creates would only load the machine.
   */
  static async on(app: SandboxApp, caller: string): Promise<HostileSession> {
    const operator = await localConsumerTarget()
    try {
      await pauseConsumer(operator, 'hostile-input tests')
    } finally {
      operator.close()
    }
    return new HostileSession(app, await app.mint({ sub: caller }))
  }

  count(status: number): void {
    this.requests++
    this.statuses.set(status, (this.statuses.get(status) ?? 0) + 1)
  }

  /** Sent with fetch, as the session's caller. */
  async send(endpoint: Endpoint, method: string, path: string, body: Buffer | undefined, headers: Record<string, string> = {}): Promise<Answer> {
    const res = await apiClient(endpoint.url, this.token)(method, path, { ...(body !== undefined && { rawBody: body }), headers })
    this.count(res.status)
    return fromFetch(res)
  }

  /** Sent as written, as the session's caller unless the request carries its own Authorization. */
  async sendRaw(endpoint: Endpoint, request: RawRequest): Promise<Answer> {
    const own = request.headers?.some(([name]) => name.toLowerCase() === 'authorization')
    const res = await rawRequest(endpoint.port, own ? request : { ...request, headers: [['authorization', `Bearer ${this.token}`], ...(request.headers ?? [])] })
    this.count(res.status)
    return fromRaw(res)
  }

  /** Runs a property with the fixed seed (another for each endpoint); the tape assertion fails with fast-check's report. */
  async holds<T>(t: Assert, what: string, numRuns: number, endpoint: Endpoint, property: (endpoint: Endpoint) => fc.IAsyncPropertyWithHooks<[T]>): Promise<void> {
    const described = `${what} (${numRuns} runs, ${endpoint.label === 'warm' ? 'warm Lambdas' : 'through the sandbox'})`
    const before = { requests: this.requests, statuses: new Map(this.statuses) }
    const started = Date.now()
    const seed = endpoint.label === 'warm' ? SEED : SEED + 1
    const details = await fc.check(property(endpoint), { seed, numRuns, plugins: [fc.interruptAfterTimeLimit(TIME_LIMIT_MS, { failOnInterrupt: true })] })
    const delta = new Map<number, number>()
    for (const [status, n] of this.statuses) {
      const d = n - (before.statuses.get(status) ?? 0)
      if (d) delta.set(status, d)
    }
    t.comment(`${described}: ${details.numRuns} runs in ${((Date.now() - started) / 1000).toFixed(1)} s, ${this.requests - before.requests} requests: ${histogram(delta)}`)
    const error = details.errorInstance instanceof Error ? details.errorInstance.message : String(details.errorInstance)
    t.equal(details.failed, false, details.failed ? `${described}\n${fc.defaultReportMessage(details)}\nWhat went wrong (shrunk):\n${error}` : `${described}: every answer as the contract says`)
    t.equal(details.numRuns, numRuns, `${described}: all ${numRuns} runs ran`)
  }

  /** A 201 or 200 with a task: valid, headers right, remembered for the end. */
  recordTask(answer: Answer, status: number, target: string | undefined): string[] {
    let task: Task
    try {
      task = JSON.parse(answer.text) as Task
    } catch {
      return []
    }
    const problems = taskProblems(task)
    if (answer.header('etag') !== `"${task.version}"`) problems.push(`ETag ${answer.header('etag')} is not "${task.version}"`)
    if (status === 201) {
      if (answer.header('location') !== `/tasks/${task.id}`) problems.push(`Location ${answer.header('location')}`)
      if (task.version !== 1) problems.push(`version ${task.version} on create`)
      if (task.createdAt !== task.updatedAt) problems.push('createdAt differs from updatedAt on create')
      if (this.created.has(task.id)) problems.push(`id ${task.id} created twice`)
      this.created.set(task.id, task)
      this.createdCount++
    } else if (target !== undefined) {
      const original = this.created.get(target)
      if (task.id !== target) problems.push(`PUT /tasks/${target} answered task ${task.id}`)
      if (original && task.createdAt !== original.createdAt) problems.push('createdAt changed on PUT')
      if (task.version < 2) problems.push(`version ${task.version} after a PUT`)
      const seen = this.versionsSeen.get(task.id) ?? new Set<number>()
      if (seen.has(task.version)) problems.push(`two successful PUTs both produced version ${task.version} (a lost update)`)
      seen.add(task.version)
      this.versionsSeen.set(task.id, seen)
    }
    const known = this.newest.get(task.id)
    if (!known || known.version < task.version) this.newest.set(task.id, task)
    return problems
  }

  /** The answer is one of the acceptable outcomes; a 201 or 200 is recorded and its task checked. */
  outcomeCheck(answer: Answer, outcomes: Outcome[], target: string | undefined): string[] {
    const problems: string[] = []
    const misses = outcomes.map((outcome) => outcomeProblems(answer, outcome))
    if (!misses.includes(undefined)) problems.push(misses.join(' | or | '))
    if (answer.status === 201 || answer.status === 200) problems.push(...this.recordTask(answer, answer.status, target))
    return problems
  }

  /** Everything about the answer to a POST or PUT. */
  judgeWrite(answer: Answer, method: string, outcomes: Outcome[], target: string | undefined): string[] {
    return [...answerProblems(answer, method), ...this.outcomeCheck(answer, outcomes, target)]
  }

  /** The property's first test: the store starts empty; three tasks for the PUT and path properties to aim at. */
  async createTargets(t: Assert, outcomeOf: (body: string) => Outcome): Promise<void> {
    const empty = await this.send(this.warm, 'GET', '/tasks', undefined)
    t.equal(empty.text, '[]', 'the store starts empty')
    for (const title of ['Target one', 'Target two', 'Target three']) {
      const body = JSON.stringify({ title, detail: 'd', dueAt: '2025-12-31T23:59:59Z' })
      const answer = await this.send(this.warm, 'POST', '/tasks', Buffer.from(body), { 'content-type': 'application/json' })
      t.deepEqual(this.judgeWrite(answer, 'POST', [outcomeOf(body)], undefined), [], `created "${title}"`)
      this.targets.push((JSON.parse(answer.text) as Task).id)
    }
  }

  /** Every task, following Link from page to page of `limit`; a page that is no JSON 200 with a relative Link fails `t`. */
  async #listAll(t: Assert, endpoint: Endpoint, limit: number): Promise<{ listed: unknown[]; pages: number }> {
    const listed: unknown[] = []
    let path: string | undefined = `/tasks?limit=${limit}`
    let pages = 0
    while (path && pages < 1000) {
      const res: ApiResponse<unknown> = await apiClient(endpoint.url, this.token)('GET', path)
      this.count(res.status)
      pages++
      const problems = answerProblems(fromFetch(res), 'GET')
      if (res.status !== 200 || problems.length || !Array.isArray(res.body)) {
        t.fail(`${endpoint.label}, page ${pages} of ${limit}: not a JSON 200 with an array: ${res.status} ${problems.join('; ')} ${preview(res.text)}`)
        break
      }
      listed.push(...res.body)
      const link = res.headers.get('link')
      const next = link === null ? undefined : /^<(\/tasks\?[^>]+)>; rel="next"$/.exec(link)?.[1]
      if (link !== null && !next) t.fail(`${endpoint.label}, page ${pages}: Link ${preview(link, 80)} is not a relative <...>; rel="next"`)
      path = next
    }
    return { listed, pages }
  }

  /** The last test: the store holds exactly the tasks the answers created, each valid and as last written. */
  async storeHoldsExactly(t: Assert): Promise<void> {
    const { listed, pages } = await this.#listAll(t, this.warm, 7)
    const throughSandbox = await this.#listAll(t, this.sandbox, 100)
    t.deepEqual(throughSandbox.listed, listed, `the sandbox lists the same tasks in pages of 100 (${throughSandbox.pages} pages) as the warm API in pages of 7 (${pages})`)
    t.comment(`listed ${listed.length} tasks; ${this.createdCount} 201s seen, ${this.deletes} deletes`)
    const invalid = listed.flatMap((task) => taskProblems(task).map((problem) => `${(task as Task).id}: ${problem}`))
    t.deepEqual(invalid, [], 'every stored task satisfies the spec')
    t.equal(listed.length, this.createdCount - this.deletes, 'as many tasks as 201s the test saw (nothing invalid stored, nothing accepted lost)')
    const ids = listed.map((task) => (task as Task).id)
    t.equal(new Set(ids).size, ids.length, 'no task listed twice')
    t.deepEqual([...ids].sort(), [...this.created.keys()].sort(), 'the listed ids are exactly the ids the 201s gave')
    const canonical = (task: unknown): string => JSON.stringify(Object.entries(task ?? {}).sort(([a], [b]) => (a < b ? -1 : 1)))
    const stale = listed.filter((task) => canonical(task) !== canonical(this.newest.get((task as Task).id)))
    t.deepEqual(
      stale.map((task) => ({ stored: task, lastAnswered: this.newest.get((task as Task).id) })),
      [],
      'each stored task is the newest version an answer gave (no accepted write lost)',
    )
    t.comment(`total: ${this.requests} requests; statuses ${histogram(this.statuses)}`)
  }
}
