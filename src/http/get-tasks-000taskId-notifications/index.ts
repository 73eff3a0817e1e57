import { deliveryLog } from '../../lib/app.ts'
import { httpHandler } from '../../lib/http/handler.ts'
import { json } from '../../lib/http/response.ts'

const deliveries = deliveryLog()

export const handler = httpHandler(async (request) => json(200, await deliveries.forTask(request.params.taskId ?? '')))
