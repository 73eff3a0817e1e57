import { taskQueries } from '../../lib/app.ts'
import { authenticatedHandler } from '../../lib/http/handler.ts'
import { pageLimit, pageResponse } from '../../lib/http/paging.ts'

const tasks = taskQueries()

export const handler = authenticatedHandler('read', async (request, caller) => {
  const limit = pageLimit(request)
  return pageResponse('/tasks', limit, await tasks.list(caller.sub, limit, request.query.cursor))
})
