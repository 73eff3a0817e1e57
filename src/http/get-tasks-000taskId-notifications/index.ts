import { deliveryQueries } from '../../lib/app.ts'
import { authenticatedHandler } from '../../lib/http/handler.ts'
import { pageLimit, pageResponse } from '../../lib/http/paging.ts'

const deliveries = deliveryQueries()

export const handler = authenticatedHandler('read', async (request, caller) => {
  const limit = pageLimit(request)
  const taskId = request.params.taskId ?? ''
  return pageResponse(`/tasks/${encodeURIComponent(taskId)}/notifications`, limit, await deliveries.forTask(caller.sub, taskId, limit, request.query.cursor))
})
