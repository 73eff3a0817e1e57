/** What `run` writes to stdout, line by line, kept off the caller's own output (EMF and log lines, say). */
export function stdoutOf(run: () => void): string[] {
  const lines: string[] = []
  const write = process.stdout.write
  process.stdout.write = ((chunk: string | Uint8Array) => {
    lines.push(...String(chunk).split('\n').filter(Boolean))
    return true
  }) as typeof process.stdout.write
  try {
    run()
  } finally {
    process.stdout.write = write
  }
  return lines
}

/** The same for an async `run`: its result and the lines it wrote meanwhile. */
export async function stdoutOfAsync<T>(run: () => Promise<T>): Promise<{ result: T; lines: string[] }> {
  const lines: string[] = []
  const write = process.stdout.write
  process.stdout.write = ((chunk: string | Uint8Array) => {
    lines.push(...String(chunk).split('\n').filter(Boolean))
    return true
  }) as typeof process.stdout.write
  try {
    return { result: await run(), lines }
  } finally {
    process.stdout.write = write
  }
}
