import { createHash } from 'node:crypto'
import type { MappingState } from './local-events.ts'

/**
 * The slice of Lambda's REST API that concerns a queue's event source
 * mapping, answered by the local SQS front server (local-sqs-server.ts) on the
 * same port, so that application code switches a mapping off and on with
 * @aws-sdk/client-lambda exactly as on AWS (AWS_ENDPOINT_URL_LAMBDA points the
 * SDK here): GetEventSourceMapping, UpdateEventSourceMapping (`Enabled`) and
 * ListEventSourceMappings, with Lambda's JSON shapes and errors. The mappings
 * themselves come from `@queues`: nothing here creates or deletes one.
 */

/** What the API reads of one local mapping (event-source-mapping.ts). */
export interface MappingDescription {
  uuid: string
  queueArn: string
  functionName: string
  region: string
  batchSize: number
  /** Seconds. */
  batchWindow: number
  maxConcurrency: number
  state: MappingState
  /** Epoch ms of the last change of `Enabled`. */
  lastModified: number
}

export interface LocalMapping {
  readonly uuid: string
  describe(): MappingDescription
  setEnabled(enabled: boolean): void
}

export interface LambdaApiAnswer {
  status: number
  headers: Record<string, string>
  body: string
}

const PATH = '/2015-03-31/event-source-mappings'
const LOCAL_ACCOUNT_ID = '000000000000'

/**
 * The UUID a queue's local mapping has, the same on every start of the same
 * app: derived from the app's and the queue's names (the layout of a version 5
 * UUID, SHA-1 of the names), so a tool can name it before the sandbox runs.
 */
export function localMappingUuid(app: string, queue: string): string {
  const hash = createHash('sha1').update(`architect-sqs-queues:${app}:${queue}`).digest()
  hash[6] = ((hash[6] ?? 0) & 0x0f) | 0x50
  hash[8] = ((hash[8] ?? 0) & 0x3f) | 0x80
  const hex = hash.subarray(0, 16).toString('hex')
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`
}

/** `NOTIFICATIONS_EVENT_SOURCE_MAPPING` for queue `notifications`: where a function finds its mapping's UUID. */
export const mappingVariable = (queue: string): string => `${queue.toUpperCase().replace(/[^A-Z0-9]/g, '_')}_EVENT_SOURCE_MAPPING`

const functionArn = (mapping: MappingDescription): string => `arn:aws:lambda:${mapping.region}:${LOCAL_ACCOUNT_ID}:function:${mapping.functionName}`

/** EventSourceMappingConfiguration, as Lambda answers it for an SQS source. */
function configuration(mapping: MappingDescription, state: string = mapping.state): Record<string, unknown> {
  return {
    UUID: mapping.uuid,
    BatchSize: mapping.batchSize,
    MaximumBatchingWindowInSeconds: mapping.batchWindow,
    EventSourceArn: mapping.queueArn,
    FunctionArn: functionArn(mapping),
    // Lambda's JSON timestamps are epoch seconds.
    LastModified: mapping.lastModified / 1000,
    State: state,
    StateTransitionReason: 'USER_INITIATED',
    FunctionResponseTypes: ['ReportBatchItemFailures'],
    ScalingConfig: { MaximumConcurrency: mapping.maxConcurrency },
  }
}

/** Lambda's error shape: the type in a header (which the SDK reads), `Type` and `Message` in the body. */
function error(status: number, type: string, message: string): LambdaApiAnswer {
  return { status, headers: { 'content-type': 'application/json', 'x-amzn-errortype': type }, body: JSON.stringify({ Type: 'User', Message: message }) }
}

const ok = (status: number, body: unknown): LambdaApiAnswer => ({ status, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })

const notFound = (uuid: string): LambdaApiAnswer => error(404, 'ResourceNotFoundException', `The resource you requested does not exist. (Service: Lambda, Status Code: 404, Request ID: local) [${uuid}]`)

/**
 * Fields of an update that name what the mapping already is are accepted (an
 * SDK or CLI may send them back); any other change would need the emulation
 * to rebuild its pollers, and belongs in app.arc, so it is refused.
 */
function unchangeable(update: Record<string, unknown>, mapping: MappingDescription): string | undefined {
  const current: Record<string, unknown> = {
    BatchSize: mapping.batchSize,
    MaximumBatchingWindowInSeconds: mapping.batchWindow,
  }
  for (const [field, value] of Object.entries(update)) {
    if (field === 'Enabled' || field === 'UUID') continue
    if (field === 'ScalingConfig' && JSON.stringify(value) === JSON.stringify({ MaximumConcurrency: mapping.maxConcurrency })) continue
    if (field === 'FunctionName' && (value === mapping.functionName || value === functionArn(mapping))) continue
    if (field in current && current[field] === value) continue
    return field
  }
  return undefined
}

/** Does a FunctionName filter (a name or an ARN, as Lambda takes both) name this mapping's function? */
const namesFunction = (filter: string, mapping: MappingDescription): boolean => filter === mapping.functionName || filter === functionArn(mapping)

export class LocalLambdaApi {
  readonly #mappings = new Map<string, LocalMapping>()

  /** Makes a mapping answerable; returns what removes it. */
  register(mapping: LocalMapping): () => void {
    this.#mappings.set(mapping.uuid, mapping)
    return () => {
      this.#mappings.delete(mapping.uuid)
    }
  }

  /** Whether a request's path is this API's (the SQS paths are `/` and `/<account>/<queue>`). */
  handles(url: string | undefined): boolean {
    const path = new URL(url ?? '/', 'http://local').pathname
    return path === PATH || path.startsWith(`${PATH}/`)
  }

  answer(method: string | undefined, url: string | undefined, body: string): LambdaApiAnswer {
    const { pathname, searchParams } = new URL(url ?? '/', 'http://local')
    const rest = pathname.slice(PATH.length).replace(/^\//, '')
    if (rest === '') {
      if (method === 'GET') return this.#list(searchParams)
      return error(400, 'InvalidParameterValueException', 'The local Lambda API does not create event source mappings: each queue of @queues in app.arc has one')
    }
    let uuid: string
    try {
      uuid = decodeURIComponent(rest)
    } catch {
      return notFound(rest)
    }
    const mapping = this.#mappings.get(uuid)
    if (method === 'GET') return mapping ? ok(200, configuration(mapping.describe())) : notFound(uuid)
    if (method === 'PUT') return mapping ? this.#update(mapping, body) : notFound(uuid)
    return error(400, 'InvalidParameterValueException', `The local Lambda API answers GET and PUT on an event source mapping, not ${method}: its mappings come from @queues in app.arc`)
  }

  #list(query: URLSearchParams): LambdaApiAnswer {
    const functionName = query.get('FunctionName')
    const eventSourceArn = query.get('EventSourceArn')
    const maxItems = query.get('MaxItems')
    if (maxItems !== null && !(/^\d+$/.test(maxItems) && Number(maxItems) >= 1 && Number(maxItems) <= 10_000)) {
      return error(400, 'InvalidParameterValueException', `MaxItems must be from 1 to 10000, got ${maxItems}`)
    }
    const mappings = [...this.#mappings.values()]
      .map((mapping) => mapping.describe())
      .filter((mapping) => (functionName === null || namesFunction(functionName, mapping)) && (eventSourceArn === null || eventSourceArn === mapping.queueArn))
    // Each app has a handful of queues: one page holds them all.
    return ok(200, { EventSourceMappings: mappings.slice(0, maxItems === null ? undefined : Number(maxItems)).map((mapping) => configuration(mapping)) })
  }

  #update(mapping: LocalMapping, body: string): LambdaApiAnswer {
    let update: unknown
    try {
      update = body.trim() === '' ? {} : JSON.parse(body)
    } catch {
      return error(400, 'InvalidRequestContentException', 'Could not parse request body into json')
    }
    if (typeof update !== 'object' || update === null || Array.isArray(update)) {
      return error(400, 'InvalidRequestContentException', 'The request body must be a JSON object')
    }
    const fields = update as Record<string, unknown>
    if (fields.Enabled !== undefined && typeof fields.Enabled !== 'boolean') {
      return error(400, 'InvalidParameterValueException', `Enabled must be true or false, got ${JSON.stringify(fields.Enabled)}`)
    }
    const before = mapping.describe()
    const field = unchangeable(fields, before)
    if (field) {
      return error(400, 'InvalidParameterValueException', `The local event source mapping changes only Enabled; ${field} comes from the queue's keys in app.arc`)
    }
    // As on AWS, a mapping between two states takes no update until it has settled.
    if (before.state === 'Disabling') {
      return error(400, 'ResourceInUseException', `Cannot update the event source mapping ${before.uuid} while it is Disabling: try again once it is Disabled`)
    }
    if (typeof fields.Enabled !== 'boolean' || fields.Enabled === (before.state === 'Enabled')) return ok(202, configuration(before))
    mapping.setEnabled(fields.Enabled)
    // Lambda answers an update with the state it is moving to.
    return ok(202, configuration(mapping.describe(), fields.Enabled ? 'Enabling' : 'Disabling'))
  }
}
