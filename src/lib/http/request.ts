import type { APIGatewayProxyEventV2 } from 'aws-lambda'
import type * as z from 'zod/mini'
import { describeIssues } from '../tasks/schema.ts'

/** A request the handlers can read without knowing API Gateway's event shape. */
export interface ApiRequest {
  method: string
  path: string
  requestId: string
  /** Header names in lower case. */
  headers: Record<string, string>
  query: Record<string, string>
  params: Record<string, string>
  /** The raw body as bytes: API Gateway may base64-encode it. */
  rawBody: Buffer | undefined
}

/** An answer the client caused: becomes `{ "message" }` with this status. */
export class HttpError extends Error {
  override readonly name = 'HttpError'
  readonly statusCode: number
  readonly headers: Record<string, string>

  constructor(statusCode: number, message: string, headers: Record<string, string> = {}) {
    super(message)
    this.statusCode = statusCode
    this.headers = headers
  }
}

export const MAX_BODY_BYTES = 64 * 1024

export function toApiRequest(event: APIGatewayProxyEventV2): ApiRequest {
  const headers: Record<string, string> = {}
  for (const [name, value] of Object.entries(event.headers ?? {})) {
    if (value !== undefined) headers[name.toLowerCase()] = value
  }
  const defined = (record: Record<string, string | undefined> | undefined): Record<string, string> =>
    Object.fromEntries(Object.entries(record ?? {}).filter((entry): entry is [string, string] => entry[1] !== undefined))
  const body = event.body
  return {
    method: event.requestContext.http.method.toUpperCase(),
    path: event.rawPath,
    requestId: event.requestContext.requestId,
    headers,
    query: defined(event.queryStringParameters),
    params: defined(event.pathParameters),
    rawBody: body === undefined || body === null ? undefined : Buffer.from(body, event.isBase64Encoded ? 'base64' : 'utf8'),
  }
}

/** `application/json` and any `+json` type, with or without parameters. */
function isJsonMediaType(contentType: string | undefined): boolean {
  const mediaType = contentType?.split(';')[0]?.trim().toLowerCase() ?? ''
  return mediaType === 'application/json' || /^[a-z0-9!#$&^_.-]+\/[a-z0-9!#$&^_.-]+\+json$/.test(mediaType)
}

/**
 * Reads a JSON body. Checks run in the spec's precedence: 415 (not JSON),
 * then 413 (too large), then 400 (missing, malformed).
 */
export function readJsonBody(request: ApiRequest): unknown {
  const body = request.rawBody
  const hasBody = body !== undefined && body.length > 0
  if (hasBody && !isJsonMediaType(request.headers['content-type'])) {
    throw new HttpError(415, 'Content-Type must be application/json')
  }
  if (hasBody && body.length > MAX_BODY_BYTES) {
    throw new HttpError(413, `Request body must not exceed ${MAX_BODY_BYTES} bytes`)
  }
  if (!hasBody || body.toString('utf8').trim() === '') {
    throw new HttpError(400, 'Request body is required')
  }
  try {
    return JSON.parse(body.toString('utf8'))
  } catch {
    throw new HttpError(400, 'Invalid JSON in request body')
  }
}

/** 400 listing every problem, or the schema's output. */
export function validateBody<Schema extends z.ZodMiniType>(json: unknown, schema: Schema): z.output<Schema> {
  const parsed = schema.safeParse(json)
  if (!parsed.success) throw new HttpError(400, `Validation failed: ${describeIssues(parsed.error)}`)
  return parsed.data
}

export function parseJsonBody<Schema extends z.ZodMiniType>(request: ApiRequest, schema: Schema): z.output<Schema> {
  return validateBody(readJsonBody(request), schema)
}
