import { httpHandler } from '../../lib/http/handler.ts'
import { errorResponse, noContent } from '../../lib/http/response.ts'

// Answers CORS preflight for every route, and a JSON 404 for anything unrouted.
export const handler = httpHandler(async (request) => {
  if (request.method === 'OPTIONS') {
    return noContent({
      'Access-Control-Allow-Methods': 'GET, POST, PUT, DELETE, OPTIONS',
      'Access-Control-Allow-Headers': 'Authorization, Content-Type, If-Match, Idempotency-Key',
      'Access-Control-Max-Age': '600',
    })
  }
  return errorResponse(404, 'Not Found')
})
