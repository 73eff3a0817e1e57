import { taskService } from '../../lib/app.ts'
import { authenticatedHandler } from '../../lib/http/handler.ts'
import { IdempotentCreates } from '../../lib/http/idempotency-key.ts'
import { readJsonBody, validateBody } from '../../lib/http/request.ts'
import { json } from '../../lib/http/response.ts'
import { createTaskSchema } from '../../lib/tasks/schema.ts'
import { etagOf } from '../../lib/tasks/task.ts'

const tasks = taskService()
const idempotentCreates = new IdempotentCreates()

export const handler = authenticatedHandler('write', async (request, caller, context) => {
  const body = readJsonBody(request)
  const input = validateBody(body, createTaskSchema)
  return idempotentCreates.respond(request, caller.sub, body, context, async () => {
    const task = await tasks.create(caller.sub, input)
    return json(201, task, { Location: `/tasks/${task.id}`, ETag: etagOf(task) })
  })
})
