import { connect, createServer, type Server, type Socket } from 'node:net'

/** A TCP proxy a test can take down and bring back: an unreachable service on demand. */
export class TcpProxy {
  readonly port: number
  readonly #target: { host: string; port: number }
  readonly #sockets = new Set<Socket>()
  #server: Server | undefined
  /** Each new connection waits this long before it is forwarded: a slow service. */
  delayMs = 0
  /** Connections accepted so far: a test waits on this rather than on a guess of time. */
  accepted = 0

  constructor(port: number, target: { host: string; port: number }) {
    this.port = port
    this.#target = target
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`
  }

  async up(): Promise<void> {
    if (this.#server) return
    const server = createServer((client) => {
      this.accepted++
      client.pause()
      setTimeout(() => this.#forward(client), this.delayMs)
    })
    await new Promise<void>((resolve) => server.listen(this.port, '127.0.0.1', resolve))
    this.#server = server
  }

  #forward(client: Socket): void {
    if (client.destroyed) return
    const upstream = connect(this.#target)
    for (const socket of [client, upstream]) {
      this.#sockets.add(socket)
      socket.on('close', () => this.#sockets.delete(socket))
      socket.on('error', () => socket.destroy())
    }
    client.pipe(upstream).pipe(client)
    client.resume()
  }

  /** Stops listening and cuts open connections: callers get ECONNREFUSED. */
  async down(): Promise<void> {
    const server = this.#server
    if (!server) return
    this.#server = undefined
    for (const socket of this.#sockets) socket.destroy()
    await new Promise<void>((resolve) => server.close(() => resolve()))
  }
}
