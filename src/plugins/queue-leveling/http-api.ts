/**
 * The HTTP API in front of the routes: a JWT authorizer with the stage's
 * issuer and audience (junk is refused before a Lambda runs; the Lambdas still
 * verify), CORS that says what the app says (so the gateway's own answers, its
 * 401s included, are readable by browsers), and JSON access logs in a log
 * group the stack owns. Pure: each returns a changed copy.
 */
import { isObject, TemplateError, type CfnProperties, type CfnTemplate } from 'arc-plugin-sqs-queues/template'

/** Whose tokens the gateway accepts, and the scope each kind of route needs (empty: none), as the Lambdas read them. */
export interface GatewayAuth {
  issuer: string
  audiences: string[]
  scopes: { read: string; write: string }
}

/** The security scheme's name in the OpenAPI definition. */
export const JWT_AUTHORIZER = 'jwtAuthorizer'
/** Architect's `any /*`: CORS preflight and the JSON 404, which anyone may call. */
export const CATCH_ALL_PATH = '/{proxy+}'

/**
 * The app's CORS rules (src/http/any-catchall/index.ts answers preflight,
 * src/lib/http/response.ts sets the rest); the allowed origin is the stage's
 * CORS_ALLOW_ORIGIN. With a CORS configuration API Gateway answers preflight
 * itself and puts these headers on every response, its own included.
 */
export const CORS_RULES = {
  AllowMethods: ['GET', 'POST', 'PUT', 'DELETE', 'OPTIONS'],
  AllowHeaders: ['Authorization', 'Content-Type', 'If-Match', 'Idempotency-Key'],
  ExposeHeaders: ['ETag', 'Location', 'Link', 'WWW-Authenticate'],
  MaxAge: 600,
}

/**
 * One JSON line per request: who (the token's `sub`, never the token or any
 * header), what, the answer and how long it took. Values are quoted so the
 * line stays JSON when one is empty.
 */
export const ACCESS_LOG_FORMAT = JSON.stringify({
  requestId: '$context.requestId',
  requestTime: '$context.requestTime',
  sub: '$context.authorizer.claims.sub',
  routeKey: '$context.routeKey',
  path: '$context.path',
  status: '$context.status',
  responseLatency: '$context.responseLatency',
  integrationLatency: '$context.integrationLatency',
  responseLength: '$context.responseLength',
  sourceIp: '$context.identity.sourceIp',
  authorizerError: '$context.authorizer.error',
  error: '$context.error.message',
})

export const accessLogGroupLogicalId = (apiId: string): string => `${apiId}AccessLogGroup`

const METHODS = new Set(['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace', 'x-amazon-apigateway-any-method'])
const READS = new Set(['get', 'head'])

/** Every HTTP API of the stack, with its Properties. */
function httpApis(template: CfnTemplate): [string, CfnProperties][] {
  return Object.entries(template.Resources)
    .filter(([, item]) => item.Type === 'AWS::Serverless::HttpApi')
    .map(([id, item]) => [id, (item.Properties ??= {})])
}

/**
 * The authorizer as a security scheme of the API's OpenAPI definition, and on
 * every operation that invokes a Lambda except the catch-all's, with the
 * scope its method needs. Architect's `/_static` proxy to the (public) static
 * bucket is left as it is.
 */
export function withJwtAuthorizer(template: CfnTemplate, auth: GatewayAuth): CfnTemplate {
  const result = structuredClone(template)
  for (const [id, properties] of httpApis(result)) {
    const definition = properties.DefinitionBody
    if (!isObject(definition) || !isObject(definition.paths)) throw new TemplateError(`HTTP API ${id} has no OpenAPI DefinitionBody with paths; has Architect changed how it declares routes?`)
    const components = isObject(definition.components) ? definition.components : {}
    const schemes = isObject(components.securitySchemes) ? components.securitySchemes : {}
    schemes[JWT_AUTHORIZER] = {
      type: 'oauth2',
      'x-amazon-apigateway-authorizer': {
        type: 'jwt',
        jwtConfiguration: { issuer: auth.issuer, audience: auth.audiences },
        identitySource: '$request.header.Authorization',
      },
    }
    components.securitySchemes = schemes
    definition.components = components
    for (const [path, item] of Object.entries(definition.paths)) {
      if (path === CATCH_ALL_PATH || !isObject(item)) continue
      for (const [method, operation] of Object.entries(item)) {
        if (!METHODS.has(method) || !isObject(operation)) continue
        const integration = operation['x-amazon-apigateway-integration']
        if (!isObject(integration) || integration.type !== 'aws_proxy') continue
        // A method that reads needs the read scope, the others the write scope; `any` could be either, so the Lambda decides.
        const scope = method === 'x-amazon-apigateway-any-method' ? '' : READS.has(method) ? auth.scopes.read : auth.scopes.write
        operation.security = [{ [JWT_AUTHORIZER]: scope ? [scope] : [] }]
      }
    }
  }
  return result
}

/** The API's CORS configuration (SAM writes it into the definition as `x-amazon-apigateway-cors`). */
export function withCors(template: CfnTemplate, allowOrigin: string): CfnTemplate {
  const result = structuredClone(template)
  for (const [, properties] of httpApis(result)) properties.CorsConfiguration = { AllowOrigins: [allowOrigin], ...CORS_RULES }
  return result
}

/**
 * Access logs of each API's stage into `<Api>AccessLogGroup`, kept as long as
 * the functions' logs. The name starts with `/aws/vendedlogs/`, where AWS puts
 * the logs services deliver, so API Gateway's log delivery does not grow the
 * account's CloudWatch Logs resource policy.
 */
export function withAccessLogs(template: CfnTemplate, retentionDays: number): CfnTemplate {
  const result = structuredClone(template)
  for (const [id, properties] of httpApis(result)) {
    const group = accessLogGroupLogicalId(id)
    result.Resources[group] = {
      Type: 'AWS::Logs::LogGroup',
      Properties: { LogGroupName: { 'Fn::Sub': `/aws/vendedlogs/\${AWS::StackName}/${id}-access` }, RetentionInDays: retentionDays },
    }
    properties.AccessLogSettings = {
      // The group's ARN without the `:*` its Arn attribute ends in.
      DestinationArn: { 'Fn::Sub': `arn:\${AWS::Partition}:logs:\${AWS::Region}:\${AWS::AccountId}:log-group:\${${group}}` },
      Format: ACCESS_LOG_FORMAT,
    }
  }
  return result
}
