// Shared with the bench's rate phase (which may not import from test/).
export { mostInWindow } from '../../scripts/lib/stats.ts'
