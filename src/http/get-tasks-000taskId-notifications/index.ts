import { deliveryLog } from '../../lib/app.ts'
import { authenticatedHandler } from '../../lib/http/handler.ts'
import { json } from '../../lib/http/response.ts'

const deliveries = deliveryLog()

export const handler = authenticatedHandler('read', async (request) => json(200, await deliveries.forTask(request.params.taskId ?? '')))
