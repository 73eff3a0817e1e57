/** Replaces process.stdout.write with a collector of lines until the returned `restore` is called. */
function captureStdout(): { lines: string[]; restore(): void } {
  const lines: string[] = []
  const write = process.stdout.write
  process.stdout.write = ((chunk: string | Uint8Array) => {
    lines.push(...String(chunk).split('\n').filter(Boolean))
    return true
  }) as typeof process.stdout.write
  return { lines, restore: () => (process.stdout.write = write) }
}

/** What `run` writes to stdout, line by line, kept off the caller's own output (EMF and log lines, say). */
export function stdoutOf(run: () => void): string[] {
  const capture = captureStdout()
  try {
    run()
  } finally {
    capture.restore()
  }
  return capture.lines
}

/** The same for an async `run`: its result and the lines it wrote meanwhile. */
export async function stdoutOfAsync<T>(run: () => Promise<T>): Promise<{ result: T; lines: string[] }> {
  const capture = captureStdout()
  try {
    return { result: await run(), lines: capture.lines }
  } finally {
    capture.restore()
  }
}
