import { randomUUID } from 'node:crypto'
import type { IncomingHttpHeaders } from 'node:http'
import type { AttributeToSend, FailedEntry, MessageToSend, Refusal } from './sqs-contents.ts'

/**
 * SQS's two wire protocols as far as the content checks need them: reading a
 * send request, dropping refused batch entries from it, and answering in the
 * format local-aws-sqs (and SQS) uses, so the AWS SDK names the error.
 * JSON: `x-amz-target: AmazonSQS.<Action>` with a JSON body (today's SDKs);
 * query: a form-encoded body with `Action=...` (older clients, curl).
 */
export type Protocol = 'json' | 'query'
export type SendAction = 'SendMessage' | 'SendMessageBatch'

const JSON_CONTENT_TYPE = 'application/x-amz-json-1.0'
const XML_NAMESPACE = 'http://queue.amazonaws.com/doc/2012-11-05/'
const BATCH_ENTRY = 'SendMessageBatchRequestEntry'

export interface SendRequest {
  protocol: Protocol
  action: SendAction
  queueUrl: unknown
  /** One for SendMessage; a batch's entries in order. */
  messages: MessageToSend[]
  /** The request body with only the batch entries at these positions. */
  keepOnly(positions: number[]): string
}

export interface WireResponse {
  status: number
  headers: Record<string, string>
  body: string
}

type Fields = Record<string, unknown>
const isFields = (value: unknown): value is Fields => typeof value === 'object' && value !== null && !Array.isArray(value)
const isSendAction = (action: unknown): action is SendAction => action === 'SendMessage' || action === 'SendMessageBatch'
// local-aws-sqs reads numeric ids as strings too.
const idOf = (value: unknown): string | undefined => (typeof value === 'string' || typeof value === 'number' ? String(value) : undefined)

/** The JSON protocol is chosen by content type, as local-aws-sqs decides it. */
export const protocolOf = (headers: IncomingHttpHeaders): Protocol => (headers['content-type'] === JSON_CONTENT_TYPE ? 'json' : 'query')

/** The queue name in a queue URL, as local-aws-sqs looks queues up (the last path segment, or the text itself). */
export function queueNameOf(queueUrl: unknown): string | undefined {
  if (typeof queueUrl !== 'string') return undefined
  try {
    return new URL(queueUrl).pathname.split('/').filter(Boolean).at(-1)
  } catch {
    return queueUrl
  }
}

/** A SendMessage or SendMessageBatch in a shape the checks can read; undefined for any other or malformed request (passed on as it is). */
export function readSendRequest(headers: IncomingHttpHeaders, body: string): SendRequest | undefined {
  return protocolOf(headers) === 'json' ? readJson(headers, body) : readQuery(body)
}

function jsonAttributes(value: unknown): AttributeToSend[] {
  if (!isFields(value)) return []
  return Object.entries(value).map(([name, attribute]) =>
    isFields(attribute) ? { name, dataType: attribute.DataType, stringValue: attribute.StringValue, binaryValue: attribute.BinaryValue } : { name },
  )
}

function readJson(headers: IncomingHttpHeaders, body: string): SendRequest | undefined {
  const action = String(headers['x-amz-target'] ?? '').split('.')[1]
  if (!isSendAction(action)) return undefined
  let fields: unknown
  try {
    fields = JSON.parse(body)
  } catch {
    return undefined
  }
  if (!isFields(fields)) return undefined
  const entries = action === 'SendMessage' ? [fields] : fields.Entries
  if (!Array.isArray(entries) || !entries.every(isFields)) return undefined
  return {
    protocol: 'json',
    action,
    queueUrl: fields.QueueUrl,
    messages: entries.map((entry) => ({ id: idOf(entry.Id), body: entry.MessageBody, attributes: jsonAttributes(entry.MessageAttributes) })),
    keepOnly: (positions) => JSON.stringify({ ...fields, Entries: positions.map((position) => entries[position]) }),
  }
}

/** The message system attribute in which SQS keeps a message's X-Ray trace header. */
export const TRACE_ATTRIBUTE = 'AWSTraceHeader'
/** The request header the X-Ray SDK puts on every AWS SDK call it records. */
export const TRACE_REQUEST_HEADER = 'x-amzn-trace-id'

/**
 * What SQS does with a send's `X-Amzn-Trace-Id` request header, which
 * local-aws-sqs reads and drops: every message of a SendMessage or
 * SendMessageBatch keeps it as its AWSTraceHeader system attribute, unless
 * the message gives its own (SQS: the attribute overrides the header).
 * Any other request, or one without the header, is returned as it is.
 */
export function withTraceHeader(headers: IncomingHttpHeaders, body: string): string {
  const header = headers[TRACE_REQUEST_HEADER]
  const trace = (Array.isArray(header) ? header[0] : header)?.trim()
  if (!trace) return body
  return protocolOf(headers) === 'json' ? jsonWithTrace(headers, body, trace) : queryWithTrace(body, trace)
}

function jsonWithTrace(headers: IncomingHttpHeaders, body: string, trace: string): string {
  const action = String(headers['x-amz-target'] ?? '').split('.')[1]
  if (!isSendAction(action)) return body
  let fields: unknown
  try {
    fields = JSON.parse(body)
  } catch {
    return body
  }
  if (!isFields(fields)) return body
  const traced = (entry: unknown): unknown => {
    if (!isFields(entry)) return entry
    const system = isFields(entry.MessageSystemAttributes) ? entry.MessageSystemAttributes : {}
    if (system[TRACE_ATTRIBUTE] !== undefined) return entry
    return { ...entry, MessageSystemAttributes: { ...system, [TRACE_ATTRIBUTE]: { DataType: 'String', StringValue: trace } } }
  }
  if (action === 'SendMessage') return JSON.stringify(traced(fields))
  return Array.isArray(fields.Entries) ? JSON.stringify({ ...fields, Entries: fields.Entries.map(traced) }) : body
}

function queryWithTrace(body: string, trace: string): string {
  const params = new URLSearchParams(body)
  const action = params.get('Action')
  if (!isSendAction(action)) return body
  // The prefix of each message's keys: none for SendMessage, `SendMessageBatchRequestEntry.<n>.` for each batch entry.
  const prefixes =
    action === 'SendMessage'
      ? ['']
      : [...new Set([...params.keys()].flatMap((key) => /^(SendMessageBatchRequestEntry\.\d+\.)/.exec(key)?.[1] ?? []))]
  for (const prefix of prefixes) {
    const system = new RegExp(`^${prefix.replaceAll('.', '\\.')}MessageSystemAttribute\\.(\\d+)\\.Name$`)
    const taken = [...params.entries()].flatMap(([key, value]) => {
      const index = system.exec(key)?.[1]
      return index === undefined ? [] : [{ index: Number(index), name: value }]
    })
    if (taken.some(({ name }) => name === TRACE_ATTRIBUTE)) continue
    const next = `${prefix}MessageSystemAttribute.${Math.max(0, ...taken.map(({ index }) => index)) + 1}`
    params.append(`${next}.Name`, TRACE_ATTRIBUTE)
    params.append(`${next}.Value.DataType`, 'String')
    params.append(`${next}.Value.StringValue`, trace)
  }
  return params.toString()
}

/**
 * A ReceiveMessage that asks for system attributes under today's name,
 * MessageSystemAttributeNames (AWSTraceHeader among them), asks local-aws-sqs,
 * which reads only the older AttributeNames, under both. Any other request is
 * returned as it is.
 */
export function withSystemAttributeNames(headers: IncomingHttpHeaders, body: string): string {
  if (protocolOf(headers) === 'json') {
    if (String(headers['x-amz-target'] ?? '').split('.')[1] !== 'ReceiveMessage') return body
    let fields: unknown
    try {
      fields = JSON.parse(body)
    } catch {
      return body
    }
    if (!isFields(fields) || !Array.isArray(fields.MessageSystemAttributeNames)) return body
    const older = Array.isArray(fields.AttributeNames) ? fields.AttributeNames : []
    return JSON.stringify({ ...fields, AttributeNames: [...new Set([...older, ...fields.MessageSystemAttributeNames])] })
  }
  const params = new URLSearchParams(body)
  if (params.get('Action') !== 'ReceiveMessage') return body
  const asked = [...params.entries()].filter(([key]) => /^MessageSystemAttributeName\.\d+$/.test(key)).map(([, value]) => value)
  if (asked.length === 0) return body
  const older = [...params.entries()].filter(([key]) => /^AttributeName\.\d+$/.test(key)).map(([, value]) => value)
  for (const [index, name] of asked.filter((name) => !older.includes(name)).entries()) params.append(`AttributeName.${older.length + index + 1}`, name)
  return params.toString()
}

/** `MessageAttribute.1.Value.StringValue=x` as nested fields (lists stay keyed by their 1-based index). */
function queryFields(params: URLSearchParams): Fields {
  const root: Fields = {}
  for (const [key, value] of params) {
    const path = key.split('.')
    const leaf = path.pop() ?? ''
    let node: Fields | undefined = root
    for (const step of path) {
      const next: unknown = (node[step] ??= {})
      node = isFields(next) ? next : undefined
      if (!node) break
    }
    if (node && node[leaf] === undefined) node[leaf] = value
  }
  return root
}

/** A numbered query list (`X.1`, `X.2`, ...) in index order, with each item's index. */
function numbered(value: unknown): [string, Fields][] | undefined {
  if (value === undefined) return []
  if (!isFields(value)) return undefined
  const items = Object.entries(value).sort(([a], [b]) => Number(a) - Number(b))
  return items.every((item): item is [string, Fields] => isFields(item[1])) ? items : undefined
}

function queryMessage(fields: Fields): MessageToSend | undefined {
  const attributes = numbered(fields.MessageAttribute)
  if (!attributes || !attributes.every(([, attribute]) => typeof attribute.Name === 'string')) return undefined
  return {
    id: idOf(fields.Id),
    body: fields.MessageBody,
    attributes: attributes.map(([, attribute]) => {
      const value = isFields(attribute.Value) ? attribute.Value : {}
      return { name: String(attribute.Name), dataType: value.DataType, stringValue: value.StringValue, binaryValue: value.BinaryValue }
    }),
  }
}

function readQuery(body: string): SendRequest | undefined {
  const params = new URLSearchParams(body)
  const fields = queryFields(params)
  const action = fields.Action
  if (!isSendAction(action)) return undefined
  const single: [string, Fields][] = [['1', fields]]
  const entries = action === 'SendMessage' ? single : numbered(fields[BATCH_ENTRY])
  const messages = entries?.map(([, entry]) => queryMessage(entry))
  if (!entries || !messages || !messages.every((message) => message !== undefined)) return undefined
  return {
    protocol: 'query',
    action,
    queueUrl: fields.QueueUrl,
    messages,
    keepOnly: (positions) => keepQueryEntries(params, positions.map((position) => entries[position]?.[0] ?? '')),
  }
}

/** The query body with only the entries of these indexes, renumbered 1..n (local-aws-sqs refuses gaps in a list). */
function keepQueryEntries(params: URLSearchParams, indexes: string[]): string {
  const kept = new URLSearchParams()
  for (const [key, value] of params) {
    const [list, index, ...rest] = key.split('.')
    if (list !== BATCH_ENTRY || index === undefined) {
      kept.append(key, value)
      continue
    }
    const position = indexes.indexOf(index)
    if (position >= 0) kept.append([list, String(position + 1), ...rest].join('.'), value)
  }
  return kept.toString()
}

// Element text only: quotes need no escape there.
const escapeXml = (text: string): string => text.replace(/[&<>]/g, (character) => `&${{ '&': 'amp', '<': 'lt', '>': 'gt' }[character]};`)

function headersFor(protocol: Protocol, requestId: string): Record<string, string> {
  return { 'content-type': protocol === 'json' ? JSON_CONTENT_TYPE : 'text/xml', 'x-amzn-requestid': requestId }
}

/** A refusal of the whole request: HTTP 400, as SQS and local-aws-sqs answer it. */
export function refusalResponse(protocol: Protocol, refusal: Refusal): WireResponse {
  const requestId = randomUUID()
  if (protocol === 'json') {
    return {
      status: 400,
      // The AWS SDK names the error after this header's code (SQS's JSON protocol is "query compatible").
      headers: { ...headersFor(protocol, requestId), 'x-amzn-query-error': `${refusal.code};Sender` },
      body: JSON.stringify({ __type: refusal.type, message: refusal.message }),
    }
  }
  return {
    status: 400,
    headers: headersFor(protocol, requestId),
    body:
      `<?xml version="1.0"?><ErrorResponse xmlns="${XML_NAMESPACE}"><Error><Type>Sender</Type>` +
      `<Code>${escapeXml(refusal.code)}</Code><Message>${escapeXml(refusal.message)}</Message><Detail/></Error>` +
      `<RequestId>${requestId}</RequestId></ErrorResponse>`,
  }
}

const jsonFailed = (failed: FailedEntry[]) => failed.map(({ id, refusal }) => ({ Id: id, SenderFault: true, Code: refusal.code, Message: refusal.message }))

const xmlFailed = (failed: FailedEntry[]): string =>
  failed
    .map(
      ({ id, refusal }) =>
        `<BatchResultErrorEntry><Id>${escapeXml(id)}</Id><SenderFault>true</SenderFault>` +
        `<Code>${escapeXml(refusal.code)}</Code><Message>${escapeXml(refusal.message)}</Message></BatchResultErrorEntry>`,
    )
    .join('')

/** A SendMessageBatch answer in which every entry failed (HTTP 200, as SQS answers it). */
export function allFailedResponse(protocol: Protocol, failed: FailedEntry[]): WireResponse {
  const requestId = randomUUID()
  const body =
    protocol === 'json'
      ? JSON.stringify({ Successful: [], Failed: jsonFailed(failed) })
      : `<?xml version="1.0"?><SendMessageBatchResponse xmlns="${XML_NAMESPACE}"><SendMessageBatchResult>${xmlFailed(failed)}` +
        `</SendMessageBatchResult><ResponseMetadata><RequestId>${requestId}</RequestId></ResponseMetadata></SendMessageBatchResponse>`
  return { status: 200, headers: headersFor(protocol, requestId), body }
}

/** local-aws-sqs's answer to the entries it was given, with the ones refused here added to its failures. */
export function withFailedEntries(protocol: Protocol, body: string, failed: FailedEntry[]): string {
  if (protocol === 'json') {
    const answer: unknown = JSON.parse(body)
    if (!isFields(answer)) throw new Error(`unexpected SendMessageBatch answer from local-aws-sqs: ${body.slice(0, 200)}`)
    const earlier = Array.isArray(answer.Failed) ? answer.Failed : []
    return JSON.stringify({ ...answer, Failed: [...earlier, ...jsonFailed(failed)] })
  }
  const end = body.lastIndexOf('</SendMessageBatchResult>')
  if (end < 0) throw new Error(`unexpected SendMessageBatch answer from local-aws-sqs: ${body.slice(0, 200)}`)
  return body.slice(0, end) + xmlFailed(failed) + body.slice(end)
}
