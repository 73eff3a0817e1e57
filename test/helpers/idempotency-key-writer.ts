/**
 * Run as a child process by test/unit/idempotency-keys.test.ts, as one Lambda
 * would run: AWS_LAMBDA_FUNCTION_NAME set, the app's tables found through
 * Architect's discovery and DynamoDB at an endpoint, both the test's
 * stand-ins. Makes the one idempotency claim the named function makes, by the
 * app's own code: a create with an Idempotency-Key (`create`) or a channel
 * delivery (`delivery`). The stand-in DynamoDB records the key written.
 */
import type { Context } from 'aws-lambda'
import { PowertoolsDeliveryGuard } from '../../src/lib/adapters/powertools-delivery-guard.ts'
import { IdempotentCreates } from '../../src/lib/http/idempotency-key.ts'
import type { ApiRequest } from '../../src/lib/http/request.ts'
import { json } from '../../src/lib/http/response.ts'

const context = { getRemainingTimeInMillis: () => 10_000, functionName: process.env.AWS_LAMBDA_FUNCTION_NAME, awsRequestId: 'request-1' } as unknown as Context
const which = process.argv[2]
if (which === 'create') {
  const request: ApiRequest = { method: 'POST', path: '/tasks', requestId: 'request-1', headers: { 'idempotency-key': 'key-1' }, query: {}, params: {}, rawBody: undefined }
  await new IdempotentCreates().respond(request, 'alice', { title: 'Pay the rent' }, context, async () => json(201, { id: 't-1' }))
} else if (which === 'delivery') {
  const guard = new PowertoolsDeliveryGuard(30)
  guard.registerLambdaContext(context)
  await guard.once('task_created:t-1:1#webhook', async () => undefined)
} else {
  throw new Error(`create or delivery, not ${which}`)
}
