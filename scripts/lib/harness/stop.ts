/** Anything a test file, script or bench run starts and must stop at its end: an app (`stop`), a proxy (`down`), a server, client or browser (`close`). */
export type Stoppable = { stop(): unknown } | { down(): unknown } | { close(): unknown }

/**
 * Stops each part in the order given, awaiting each, skipping those never started;
 * every part gets its turn even when an earlier one fails (the first failure is rethrown at the end),
 * so that one broken server does not leave an app running after its file.
 */
export async function stopAll(...parts: ReadonlyArray<Stoppable | undefined>): Promise<void> {
  const failures: unknown[] = []
  for (const part of parts) {
    if (part === undefined) continue
    try {
      if ('stop' in part) await part.stop()
      else if ('down' in part) await part.down()
      else await part.close()
    } catch (error) {
      failures.push(error)
    }
  }
  if (failures.length > 0) throw failures[0]
}
