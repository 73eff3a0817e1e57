import { taskService } from '../../lib/app.ts'
import { ifMatchCondition } from '../../lib/http/conditions.ts'
import { authenticatedHandler } from '../../lib/http/handler.ts'
import { noContent } from '../../lib/http/response.ts'

const tasks = taskService()

export const handler = authenticatedHandler('write', async (request, caller) => {
  await tasks.remove(caller.sub, request.params.taskId ?? '', ifMatchCondition(request.headers['if-match']))
  return noContent()
})
