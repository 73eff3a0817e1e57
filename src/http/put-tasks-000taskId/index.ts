import { taskService } from '../../lib/app.ts'
import { ifMatchCondition } from '../../lib/http/conditions.ts'
import { authenticatedHandler } from '../../lib/http/handler.ts'
import { parseJsonBody } from '../../lib/http/request.ts'
import { json } from '../../lib/http/response.ts'
import { replaceTaskSchema } from '../../lib/tasks/schema.ts'
import { etagOf } from '../../lib/tasks/task.ts'

const tasks = taskService()

export const handler = authenticatedHandler('write', async (request, caller) => {
  const input = parseJsonBody(request, replaceTaskSchema)
  const task = await tasks.replace(caller.sub, request.params.taskId ?? '', input, ifMatchCondition(request.headers['if-match']))
  return json(200, task, { ETag: etagOf(task) })
})
