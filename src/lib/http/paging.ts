import type { Listing } from '../paging.ts'
import { HttpError, type ApiRequest } from './request.ts'
import { json, type HttpResponse } from './response.ts'

/** Every paged route's page size: `?limit=` 1..100, 50 when absent. */
export const DEFAULT_PAGE_LIMIT = 50
const MAX_PAGE_LIMIT = 100

/** The `limit` a paged route was asked for; a 400 for anything but a whole number in range. */
export function pageLimit(request: ApiRequest): number {
  const value = request.query.limit
  if (value === undefined) return DEFAULT_PAGE_LIMIT
  const limit = /^\d{1,3}$/.test(value) ? Number(value) : NaN
  if (!(limit >= 1 && limit <= MAX_PAGE_LIMIT)) throw new HttpError(400, `limit must be a whole number from 1 to ${MAX_PAGE_LIMIT}`)
  return limit
}

/**
 * A 200 with one page, and while more remain a relative `Link: <path?limit&cursor>;
 * rel="next"` that asks for the next page of the same size. `path` is the
 * route's own, its variable parts already URL-encoded.
 */
export function pageResponse<Item>(path: string, limit: number, page: Listing<Item>): HttpResponse {
  const link = page.nextCursor === undefined ? undefined : { Link: `<${path}?limit=${limit}&cursor=${encodeURIComponent(page.nextCursor)}>; rel="next"` }
  return json(200, page.items, link)
}
