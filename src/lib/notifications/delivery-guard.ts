/**
 * Makes each channel's delivery of a notification happen at most once to
 * completion, across redeliveries, duplicate publishes and concurrent copies.
 */
export interface DeliveryGuard {
  /**
   * Runs `deliver` unless a run for `key` already completed (then resolves false).
   * Throws DeliveryInProgressError while another run holds the key; a run that
   * fails releases it, so a retry can deliver.
   */
  once(key: string, deliver: () => Promise<void>): Promise<boolean>
}

/** Another copy of this message is delivering the same notification right now: retry later. */
export class DeliveryInProgressError extends Error {
  override readonly name = 'DeliveryInProgressError'
}
