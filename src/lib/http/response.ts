import { readHttpSettings } from '../config.ts'

/** What an HTTP handler returns to API Gateway (payload format 2.0). */
export interface HttpResponse {
  statusCode: number
  headers: Record<string, string>
  body?: string
}

const { corsAllowOrigin } = readHttpSettings()

export const corsHeaders: Readonly<Record<string, string>> = {
  'Access-Control-Allow-Origin': corsAllowOrigin,
  'Access-Control-Expose-Headers': 'ETag, Location, Link, WWW-Authenticate',
}

/** The one way a response is made: JSON body, CORS headers, extra headers last. */
export function json(statusCode: number, body: unknown, headers: Record<string, string> = {}): HttpResponse {
  return {
    statusCode,
    headers: { 'Content-Type': 'application/json', ...corsHeaders, ...headers },
    body: JSON.stringify(body),
  }
}

export function noContent(headers: Record<string, string> = {}): HttpResponse {
  return { statusCode: 204, headers: { ...corsHeaders, ...headers } }
}

export function errorResponse(statusCode: number, message: string, headers: Record<string, string> = {}): HttpResponse {
  return json(statusCode, { message }, headers)
}
