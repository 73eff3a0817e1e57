/**
 * Paging, one way for every list the API answers (a caller's tasks, a task's
 * delivery log): a store reads a page after a position of its own and says
 * where the next page starts while more remain; the caller sees that position
 * only as an opaque cursor. A cursor names a position, never whose list it is:
 * the owner always comes from the caller, so another caller's cursor reveals
 * nothing.
 */

export class InvalidCursorError extends Error {
  override readonly name = 'InvalidCursorError'
  constructor() {
    super('Invalid cursor')
  }
}

/** A page as a store reads it: `next` is the position of its last item while more remain, else undefined. */
export interface StoredPage<Item> {
  items: Item[]
  next: string | undefined
}

/** A page as the API answers it. */
export interface Listing<Item> {
  items: Item[]
  nextCursor: string | undefined
}

const encodeCursor = (position: string): string => Buffer.from(JSON.stringify({ after: position })).toString('base64url')

/** The position a cursor names; undefined (the first page) without one. Anything undecodable is the caller's mistake. */
export function cursorPosition(cursor: string | undefined): string | undefined {
  if (cursor === undefined) return undefined
  try {
    const decoded: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'))
    if (decoded && typeof decoded === 'object' && 'after' in decoded && typeof decoded.after === 'string' && decoded.after) return decoded.after
  } catch {
    // fall through
  }
  throw new InvalidCursorError()
}

/** The page with its next position as a cursor, each item shown as `view` makes it. */
export function toListing<Item, View>(page: StoredPage<Item>, view: (item: Item) => View): Listing<View> {
  return { items: page.items.map(view), nextCursor: page.next === undefined ? undefined : encodeCursor(page.next) }
}
