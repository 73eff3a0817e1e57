import { taskService } from '../../lib/app.ts'
import { httpHandler } from '../../lib/http/handler.ts'
import { parseJsonBody } from '../../lib/http/request.ts'
import { json } from '../../lib/http/response.ts'
import { createTaskSchema } from '../../lib/tasks/schema.ts'
import { etagOf } from '../../lib/tasks/task.ts'

const tasks = taskService()

// Idempotency-Key (replay of the first 201) plugs in here, around the create.
export const handler = httpHandler(async (request) => {
  const input = parseJsonBody(request, createTaskSchema)
  const task = await tasks.create(input)
  return json(201, task, { Location: `/tasks/${task.id}`, ETag: etagOf(task) })
})
