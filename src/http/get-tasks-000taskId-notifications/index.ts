import { deliveryQueries } from '../../lib/app.ts'
import { authenticatedHandler } from '../../lib/http/handler.ts'
import { json } from '../../lib/http/response.ts'

const deliveries = deliveryQueries()

export const handler = authenticatedHandler('read', async (request, caller) => json(200, await deliveries.forTask(caller.sub, request.params.taskId ?? '')))
