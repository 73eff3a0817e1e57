import type { LevelingState } from './breaker-store.ts'

/**
 * The consumer's event source mapping follows the leveling state: enabled
 * unless the operator paused it or a breaker is open (half-open counts as
 * enabled: the probe needs records). Every writer of that state reconciles
 * after its write, and a reconcile ends only when the mapping has settled on
 * what a read made after it says; so when writes race (a pause and a resume,
 * a breaker opening and an operator's resume), the last one wins.
 */

/** Lambda's State of a mapping, as GetEventSourceMapping reports it (Creating, Updating... count as between states). */
export type MappingState = string

/** The consumer's event source mapping, as the reconcile sees it. */
export interface MappingSwitch {
  state(): Promise<MappingState>
  /** Asks for `Enabled`; throws MappingBusyError while the mapping is between states. */
  setEnabled(enabled: boolean): Promise<void>
}

/** The mapping takes no update now (Lambda's ResourceInUseException): it is between two states. */
export class MappingBusyError extends Error {
  override readonly name = 'MappingBusyError'
}

export type PausedBy = 'operator' | 'breaker' | null

/** Who keeps the consumer from running: the operator first (only they lift it), then any open breaker. */
export function pausedBy(state: LevelingState): PausedBy {
  if (state.pause.pausedBy === 'operator') return 'operator'
  return Object.values(state.breakers).some((breaker) => breaker?.state === 'open') ? 'breaker' : null
}

export const desiredEnabled = (state: LevelingState): boolean => pausedBy(state) === null

/** Where a mapping stands: on or off, and whether it is still moving there. */
function reading(state: MappingState): { enabled: boolean; settled: boolean } {
  if (state === 'Enabled') return { enabled: true, settled: true }
  if (state === 'Enabling') return { enabled: true, settled: false }
  if (state === 'Disabled') return { enabled: false, settled: true }
  if (state === 'Disabling') return { enabled: false, settled: false }
  // Creating, Updating, Deleting: wait until it is one of the four.
  return { enabled: false, settled: false }
}

const KNOWN = new Set(['Enabled', 'Enabling', 'Disabled', 'Disabling'])

export interface ReconcileOptions {
  /** Gives up (throws) when the mapping has not taken the state by then: epoch ms. */
  deadline: number
  now?: () => number
  sleep?: (ms: number) => Promise<void>
  /** Between two looks at a mapping that is between states. */
  pollMs?: number
}

export interface Reconciled {
  enabled: boolean
  pausedBy: PausedBy
  /** Whether this reconcile asked the mapping to change. */
  changed: boolean
}

export class ReconcileTimeoutError extends Error {
  override readonly name = 'ReconcileTimeoutError'
}

const defaultSleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

/**
 * Reads the leveling state, asks the mapping for the Enabled it implies, and
 * repeats until the mapping is there (or moving there) and a read made after
 * that still implies it. A mapping moving the other way is waited for: Lambda
 * refuses updates between states.
 */
export async function reconcile(read: () => Promise<LevelingState>, mapping: MappingSwitch, options: ReconcileOptions): Promise<Reconciled> {
  const now = options.now ?? Date.now
  const sleep = options.sleep ?? defaultSleep
  const pollMs = options.pollMs ?? 500
  let changed = false
  for (;;) {
    const state = await read()
    const desired = desiredEnabled(state)
    const current = await mapping.state()
    const { enabled, settled } = reading(current)
    if (enabled === desired && KNOWN.has(current)) return { enabled: desired, pausedBy: pausedBy(state), changed }
    if (now() > options.deadline) throw new ReconcileTimeoutError(`The event source mapping is ${current}, not yet ${desired ? 'Enabled' : 'Disabled'}`)
    if (!settled) {
      await sleep(pollMs)
      continue
    }
    try {
      await mapping.setEnabled(desired)
      changed = true
    } catch (error) {
      if (!(error instanceof MappingBusyError)) throw error
      await sleep(pollMs)
    }
  }
}
