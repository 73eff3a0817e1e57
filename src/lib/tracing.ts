import type { Tracer } from '@aws-lambda-powertools/tracer'
import { lazy } from './lazy.ts'

/**
 * AWS X-Ray tracing of what a function calls, through one Powertools Tracer
 * per container: the AWS SDK clients (SQS, SES, DynamoDB, SSM), the HTTPS
 * calls of table access (aws-lite, which no SDK wrapper reaches), and the
 * webhook call. Lambda itself records each invocation; these are its
 * subsegments.
 *
 * The deploy decides: its `tracing` setting gives every function
 * POWERTOOLS_TRACE_ENABLED `true` (or `false`), and this module traces only
 * with `true`. Powertools alone would trace in any Lambda that does not say
 * `false`; asking for `true` means a function nobody configured (a local run:
 * nothing sets it) never loads the X-Ray SDK, so it costs nothing and prints
 * nothing. Powertools then adds its own condition, the Lambda runtime's
 * AWS_EXECUTION_ENV.
 */
export const TRACING_VARIABLE = 'POWERTOOLS_TRACE_ENABLED'

/** The `Service` the traces name. */
export const TRACE_SERVICE = 'queue-leveling'

export const tracingRequested = (env: NodeJS.ProcessEnv = process.env): boolean => env[TRACING_VARIABLE] === 'true'

/**
 * The container's tracer, made on first use; undefined when this function
 * does not trace. The first use also patches Node's http and https modules,
 * which aws-lite calls at request time, so every table access after it is
 * recorded (appTables waits for it before its first call). fetch is not
 * captured: Powertools would record each call's URL path, and a webhook's path
 * may hold a token; the webhook call has its own subsegment instead
 * (traceRemoteCall). A failed load is forgotten (lazy) and tried again.
 */
export const tracer: () => Promise<Tracer | undefined> = lazy(async () => {
  if (!tracingRequested()) return undefined
  const { Tracer } = await import('@aws-lambda-powertools/tracer')
  const instance = new Tracer({ serviceName: TRACE_SERVICE, captureHTTPsRequests: false })
  if (!instance.isTracingEnabled()) return undefined
  instance.provider.captureHTTPsGlobal()
  return instance
})

/**
 * An AWS SDK v3 client whose calls are subsegments (service, operation,
 * resource, retries) and whose requests carry the trace header: SQS keeps the
 * one on SendMessage as the message's AWSTraceHeader, which is how X-Ray links
 * a producer's trace to the consumer batch that handled the message.
 */
export async function traced<Client>(client: Client): Promise<Client> {
  return (await tracer())?.captureAWSv3Client(client) ?? client
}

/** What a remote call tells its subsegment. */
export interface RemoteCallRecord {
  status(code: number): void
}
const UNRECORDED: RemoteCallRecord = { status: () => undefined }

/**
 * A call to a host outside AWS as a `remote` subsegment named after the host
 * alone: the URL's path, query and credentials never reach the trace, nor
 * does the trace header reach the host. `call` reports the answer's status
 * (429 throttle, 4xx error, 5xx fault); a call that got no answer is recorded
 * with the error it throws, whose message must be fit for a trace (the webhook
 * channel's say nothing of the URL).
 */
export async function traceRemoteCall<T>(target: URL, method: string, call: (record: RemoteCallRecord) => Promise<T>): Promise<T> {
  const active = await tracer()
  if (!active) return call(UNRECORDED)
  return active.provider.captureAsyncFunc(target.hostname, async (subsegment) => {
    // No segment to hang it on (outside an invocation): the call goes on untraced.
    if (!subsegment) return call(UNRECORDED)
    subsegment.namespace = 'remote'
    const http: { request: { method: string; url: string }; response?: { status: number } } = { request: { method, url: `${target.protocol}//${target.hostname}` } }
    subsegment.addAttribute('http', http)
    try {
      const result = await call({
        status(code) {
          http.response = { status: code }
          if (code === 429) subsegment.addThrottleFlag()
          if (code >= 400 && code < 500) subsegment.addErrorFlag()
          if (code >= 500) subsegment.addFaultFlag()
        },
      })
      subsegment.close()
      return result
    } catch (error) {
      // An answer's status already says error (4xx) or fault (5xx); a call that got none is a fault with its reason.
      subsegment.close(http.response ? null : error instanceof Error ? error : String(error), true)
      throw error
    }
  }) as Promise<T>
}
