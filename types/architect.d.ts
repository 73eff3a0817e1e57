// The slices of Architect's untyped packages that the scripts and tests use.
declare module '@architect/sandbox' {
  interface StartOptions {
    cwd?: string
    port?: number
    quiet?: boolean
    logLevel?: string
    /** Replaces the Lambdas' user environment (.env and plugin variables) when given. */
    env?: Record<string, string>
  }
  const sandbox: {
    start(options?: StartOptions): Promise<string>
    end(): Promise<string>
  }
  export default sandbox
}

declare module '@architect/inventory' {
  interface Inventory {
    inv: {
      _project: { env: { local: Record<string, Record<string, string> | null> | null } }
    }
  }
  function inventory(options: { cwd?: string; env?: boolean }): Promise<Inventory>
  export default inventory
}
