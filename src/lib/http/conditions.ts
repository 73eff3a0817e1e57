import type { VersionCondition } from '../tasks/service.ts'

/**
 * `If-Match` (RFC 9110): `*` or a list of entity tags, compared strongly, so a
 * weak tag (`W/"3"`) never matches. Absent header: no condition.
 */
export function ifMatchCondition(header: string | undefined): VersionCondition | undefined {
  if (header === undefined) return undefined
  const value = header.trim()
  if (value === '*') return () => true
  const tags = value.split(',').map((tag) => tag.trim())
  return (currentVersion) => tags.includes(`"${currentVersion}"`)
}
