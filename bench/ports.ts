/**
 * Ports of the bench's apps: the test suite's bases (test/helpers/app.ts) moved by
 * TEST_PORT_OFFSET, 900 by default, so neither `npm start` (3333/9324/5555/4444/2222,
 * its local issuer 3335, its dashboard 3334) nor a test run on offset 0 is disturbed.
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

const BASES: PortSet = { PORT: 3433, ARC_SQS_PORT: 9424, ARC_TABLES_PORT: 5655, ARC_EVENTS_PORT: 4544, ARC_INTERNAL_PORT: 2322, LOCAL_ISSUER_PORT: 3435, DASHBOARD_PORT: 3434 }
const RESERVED = new Set([3333, 4444, 5555, 2222, 9324, 3335, 3334])

/** The port set `shift` above the bench's own (a second app running beside the first gets its own). */
export function benchPorts(offset: number, shift = 0): PortSet {
  const ports = Object.fromEntries(Object.entries(BASES).map(([name, base]) => [name, base + offset + shift])) as unknown as PortSet
  const clash = Object.values(ports).find((port) => RESERVED.has(port))
  if (clash !== undefined) throw new Error(`Port offset ${offset} puts a bench app on ${clash}, a port of npm start; pick another TEST_PORT_OFFSET`)
  return ports
}
