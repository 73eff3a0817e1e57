/**
 * One status line on stderr: the step, a bar of the step's progress and what the
 * system is doing. On a terminal it is redrawn in place; otherwise (a log file, CI)
 * a line is printed every few seconds.
 */
export class Progress {
  readonly #tty = Boolean(process.stderr.isTTY)
  readonly #started = Date.now()
  readonly #steps: number
  #step = 0
  #label = ''
  #lastPrinted = 0
  #drawn = false

  constructor(steps: number) {
    this.#steps = steps
  }

  /** Moves to the next step; closes the previous step's line. */
  step(label: string): void {
    this.#finishLine()
    this.#step++
    this.#label = label
    this.update(0, '')
  }

  /** `fraction` of the current step is done; `detail` says what is going on. */
  update(fraction: number, detail: string): void {
    const width = 24
    const filled = Math.round(Math.max(0, Math.min(1, fraction)) * width)
    const bar = `${'█'.repeat(filled)}${'░'.repeat(width - filled)}`
    const elapsed = Math.round((Date.now() - this.#started) / 1000)
    const line = `[${this.#step}/${this.#steps}] ${this.#label.padEnd(26)} ${bar} ${String(Math.round(fraction * 100)).padStart(3)}%  ${detail}  (${elapsed}s)`
    if (this.#tty) {
      const columns = process.stderr.columns || 160
      process.stderr.write(`\r\x1b[2K${line.slice(0, columns - 1)}`)
      this.#drawn = true
    } else if (Date.now() - this.#lastPrinted >= 5000 || fraction >= 1) {
      process.stderr.write(`${line}\n`)
      this.#lastPrinted = Date.now()
    }
  }

  /** A message above the bar. */
  note(message: string): void {
    this.#finishLine()
    process.stderr.write(`${message}\n`)
  }

  done(): void {
    this.#finishLine()
  }

  #finishLine(): void {
    if (this.#tty && this.#drawn) process.stderr.write('\n')
    this.#drawn = false
  }
}
