import type { APIGatewayProxyEventV2, Context } from 'aws-lambda'
import { JoseTokenVerifier } from '../adapters/jose-token-verifier.ts'
import { authorize, AuthUnavailableError, bearerToken, ForbiddenError, UnauthorizedError, type Access, type Caller, type TokenVerifier } from '../auth/caller.ts'
import { readAuthSettings } from '../config.ts'
import { logger } from '../log.ts'
import { InvalidCursorError } from '../paging.ts'
import { PreconditionFailedError, TaskNotFoundError } from '../tasks/service.ts'
import { HttpError, toApiRequest, type ApiRequest } from './request.ts'
import { errorResponse, type HttpResponse } from './response.ts'

function toErrorResponse(error: unknown, request: ApiRequest): HttpResponse {
  if (error instanceof HttpError) return errorResponse(error.statusCode, error.message, error.headers)
  if (error instanceof UnauthorizedError) {
    return errorResponse(401, 'Unauthorized', { 'WWW-Authenticate': error.tokenGiven ? 'Bearer error="invalid_token"' : 'Bearer' })
  }
  if (error instanceof ForbiddenError) {
    return errorResponse(403, 'Forbidden', { 'WWW-Authenticate': `Bearer error="insufficient_scope", scope="${error.scope}"` })
  }
  if (error instanceof TaskNotFoundError) return errorResponse(404, error.message)
  if (error instanceof PreconditionFailedError) return errorResponse(412, error.message)
  if (error instanceof InvalidCursorError) return errorResponse(400, error.message)
  if (error instanceof AuthUnavailableError) {
    logger.error('Token not checked', { requestId: request.requestId, reason: error.message })
    return errorResponse(503, 'Service Unavailable', { 'X-Request-Id': request.requestId, 'Retry-After': '5' })
  }
  // Internals stay in the log, found by the request id the client got back.
  logger.error('Unhandled error', { requestId: request.requestId, method: request.method, path: request.path, error: error as Error })
  return errorResponse(500, 'Internal server error', { 'X-Request-Id': request.requestId })
}

type Route<Args extends unknown[]> = (request: ApiRequest, ...args: Args) => Promise<HttpResponse>

/** Wraps a route that anyone may call (CORS preflight, the JSON 404): builds the request, maps errors to JSON answers. */
export function httpHandler(route: Route<[Context]>) {
  return async (event: APIGatewayProxyEventV2, context: Context): Promise<HttpResponse> => {
    const request = toApiRequest(event)
    logger.appendKeys({ requestId: request.requestId })
    try {
      return await route(request, context)
    } catch (error) {
      return toErrorResponse(error, request)
    } finally {
      logger.removeKeys(['requestId', 'sub'])
    }
  }
}

/**
 * Wraps a route for signed-in callers only: the bearer token is verified and
 * the route's scope checked before anything else, the body included, so a
 * 401/403 comes before any 415/413/400. Of the token only `sub` is logged.
 */
export function authenticatedHandler(access: Access, route: Route<[Caller, Context]>, verifier?: TokenVerifier) {
  const settings = readAuthSettings()
  const tokens = verifier ?? new JoseTokenVerifier(settings)
  if (!settings.issuer) logger.warn('AUTH_ISSUER is not set: every request is refused')
  return httpHandler(async (request, context) => {
    const token = bearerToken(request.headers.authorization)
    if (token === undefined) throw new UnauthorizedError(false, 'No bearer token')
    const caller = await tokens.verify(token)
    logger.appendKeys({ sub: caller.sub })
    authorize(caller, access, settings.scopes)
    return route(request, caller, context)
  })
}
