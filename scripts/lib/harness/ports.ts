import { createServer } from 'node:net'

/**
 * The ports an app started by the harness listens on: sandbox's own (HTTP,
 * DynamoDB, its event bus and internal service) and the plugins' (the local
 * SQS server, the local issuer, the dashboard).
 */
export interface PortSet {
  PORT: number
  ARC_SQS_PORT: number
  ARC_TABLES_PORT: number
  ARC_EVENTS_PORT: number
  ARC_INTERNAL_PORT: number
  /** The app's local token issuer (the queue-leveling plugin reads LOCAL_ISSUER_PORT). */
  LOCAL_ISSUER_PORT: number
  /** The app's local dashboard (the queue-leveling plugin reads DASHBOARD_PORT). */
  DASHBOARD_PORT: number
}

/** What `npm start` listens on by default: nothing the harness starts may take one of these. */
export const DEFAULT_PORTS: ReadonlySet<number> = new Set([3333, 4444, 5555, 2222, 9324, 3334, 3335])

/** The fixed port bases of the bench and the soak, moved by an offset (TEST_PORT_OFFSET). */
const BASES: PortSet = { PORT: 3433, ARC_SQS_PORT: 9424, ARC_TABLES_PORT: 5655, ARC_EVENTS_PORT: 4544, ARC_INTERNAL_PORT: 2322, LOCAL_ISSUER_PORT: 3435, DASHBOARD_PORT: 3434 }

/** The port set `offset` above the bases: what a run that names its ports (bench, soak, screenshot) uses. */
export function offsetPorts(offset: number): PortSet {
  const ports = Object.fromEntries(Object.entries(BASES).map(([name, base]) => [name, base + offset])) as unknown as PortSet
  const clash = Object.values(ports).find((port) => DEFAULT_PORTS.has(port))
  if (clash !== undefined) throw new Error(`Port offset ${offset} puts an app on ${clash}, a port of npm start; pick another TEST_PORT_OFFSET`)
  return ports
}

/**
 * Ports for a server that another module starts later (sandbox binds its own):
 * drawn at random below the kernel's ephemeral range (32768 and up on Linux),
 * where no outgoing connection can take one between this check and that
 * bind, and each checked free by listening on it. listen(0) would pick from
 * the ephemeral range itself. A server this process starts itself listens on
 * port 0 instead. Processes running at once (npm test's lanes, each with a
 * TEST_PORT_OFFSET of its own, 1000 apart) draw from blocks of their own, so
 * two of them never check the same port free and both take it.
 */
const BLOCKS = 4
const BLOCK_SIZE = 3_000
const block = Math.abs(Math.floor((Number(process.env.TEST_PORT_OFFSET) || 0) / 1000)) % BLOCKS
const LOW = 20_000 + block * BLOCK_SIZE
const HIGH = LOW + BLOCK_SIZE
const handedOut = new Set<number>()

function listens(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer()
    server.once('error', () => resolve(false))
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)))
  })
}

export async function freePort(): Promise<number> {
  for (let tries = 0; tries < 200; tries++) {
    const port = LOW + Math.floor(Math.random() * (HIGH - LOW))
    if (handedOut.has(port) || DEFAULT_PORTS.has(port)) continue
    if (await listens(port)) {
      handedOut.add(port)
      return port
    }
  }
  throw new Error(`No free port found between ${LOW} and ${HIGH}`)
}

/** A whole set of free ports for one app. */
export async function freePorts(): Promise<PortSet> {
  const ports: Partial<PortSet> = {}
  for (const name of Object.keys(BASES) as (keyof PortSet)[]) ports[name] = await freePort()
  return ports as PortSet
}
