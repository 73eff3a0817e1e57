import { taskQueries } from '../../lib/app.ts'
import { authenticatedHandler } from '../../lib/http/handler.ts'
import { json } from '../../lib/http/response.ts'
import { etagOf } from '../../lib/tasks/task.ts'

const tasks = taskQueries()

export const handler = authenticatedHandler('read', async (request, caller) => {
  const task = await tasks.get(caller.sub, request.params.taskId ?? '')
  return json(200, task, { ETag: etagOf(task) })
})
