import { taskQueries } from '../../lib/app.ts'
import { authenticatedHandler } from '../../lib/http/handler.ts'
import { HttpError } from '../../lib/http/request.ts'
import { json } from '../../lib/http/response.ts'

const tasks = taskQueries()

function parseLimit(value: string | undefined): number {
  if (value === undefined) return 50
  const limit = /^\d{1,3}$/.test(value) ? Number(value) : NaN
  if (!(limit >= 1 && limit <= 100)) throw new HttpError(400, 'limit must be a whole number from 1 to 100')
  return limit
}

export const handler = authenticatedHandler('read', async (request, caller) => {
  const limit = parseLimit(request.query.limit)
  const { tasks: page, nextCursor } = await tasks.list(caller.sub, limit, request.query.cursor)
  const link = nextCursor
    ? { Link: `</tasks?limit=${limit}&cursor=${encodeURIComponent(nextCursor)}>; rel="next"` }
    : undefined
  return json(200, page, link)
})
