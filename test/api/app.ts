import { type SandboxApp, startSandboxApp } from '../../scripts/lib/harness/index.ts'

let started: Promise<SandboxApp> | undefined

/**
 * The one app the API's files share (test/api.test.ts runs them in turn, in
 * one process): each calls as a caller of its own (`app.mint({ sub })`), so
 * none lists or counts another's tasks, and none stops it.
 */
export const apiApp = (): Promise<SandboxApp> => (started ??= startSandboxApp({ name: 'api' }))
