import type { APIGatewayProxyEventV2, Context } from 'aws-lambda'
import { logger } from '../log.ts'
import { InvalidCursorError, PreconditionFailedError, TaskNotFoundError } from '../tasks/service.ts'
import { HttpError, toApiRequest, type ApiRequest } from './request.ts'
import { errorResponse, type HttpResponse } from './response.ts'

function toErrorResponse(error: unknown, request: ApiRequest): HttpResponse {
  if (error instanceof HttpError) return errorResponse(error.statusCode, error.message, error.headers)
  if (error instanceof TaskNotFoundError) return errorResponse(404, error.message)
  if (error instanceof PreconditionFailedError) return errorResponse(412, error.message)
  if (error instanceof InvalidCursorError) return errorResponse(400, error.message)
  // Internals stay in the log, found by the request id the client got back.
  logger.error('Unhandled error', { requestId: request.requestId, method: request.method, path: request.path, error: error as Error })
  return errorResponse(500, 'Internal server error', { 'X-Request-Id': request.requestId })
}

/** Wraps a route: builds the request, maps domain and client errors to JSON answers. */
export function httpHandler(route: (request: ApiRequest, context: Context) => Promise<HttpResponse>) {
  return async (event: APIGatewayProxyEventV2, context: Context): Promise<HttpResponse> => {
    const request = toApiRequest(event)
    logger.appendKeys({ requestId: request.requestId })
    try {
      return await route(request, context)
    } catch (error) {
      return toErrorResponse(error, request)
    } finally {
      logger.removeKeys(['requestId'])
    }
  }
}
