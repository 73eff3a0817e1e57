/**
 * One shared instance per container, made on first use: the first call starts
 * `create`, later calls share its promise. A rejected promise is forgotten, so
 * a transient failure at first use (a table discovery, an SDK import, SSM)
 * fails that call only and the next one tries again, instead of breaking the
 * container until Lambda recycles it.
 */
export function lazy<T>(create: () => Promise<T>): () => Promise<T> {
  let cached: Promise<T> | undefined
  return () => {
    cached ??= Promise.resolve()
      .then(create)
      .catch((error: unknown) => {
        cached = undefined
        throw error
      })
    return cached
  }
}
