/**
 * One status line that rewrites itself in a terminal. Piped into a file or a
 * CI log, carriage returns would pile up into one unreadable line, so there
 * each change is a line of its own.
 */
export class ProgressLine {
  readonly #stream: NodeJS.WriteStream
  #last = ''

  constructor(stream: NodeJS.WriteStream = process.stdout) {
    this.#stream = stream
  }

  update(text: string): void {
    if (text === this.#last) return
    this.#last = text
    // \x1b[2K clears the rest of a longer previous text.
    this.#stream.write(this.#stream.isTTY ? `\r\x1b[2K${text}` : `${text}\n`)
  }

  /** Leaves the last text on screen and moves below it. */
  done(): void {
    if (this.#stream.isTTY && this.#last) this.#stream.write('\n')
    this.#last = ''
  }
}
