/** What `run` writes to stdout, line by line, kept off the test's own output (EMF and log lines, say). */
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
