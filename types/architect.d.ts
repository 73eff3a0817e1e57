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
  export interface Lambda {
    name: string
    pragma: string
    src: string
    build?: string
    handlerFile: string
    config: { runtime: string; timeout: number; memory: number }
  }
  export interface Inventory {
    inv: {
      _project: { cwd: string; build?: string | null; env: { local: Record<string, Record<string, string> | null> | null } }
      lambdasBySrcDir: Record<string, Lambda>
    }
  }
  function inventory(options: { cwd?: string; env?: boolean }): Promise<Inventory>
  export default inventory
}

declare module '@architect/plugin-typescript' {
  import type { Inventory } from '@architect/inventory'
  const typescript: {
    set: { runtimes(args: { inventory: Inventory }): unknown }
    sandbox: { start(args: { inventory: Inventory }): Promise<void> }
    deploy: { start(args: { inventory: Inventory }): Promise<void> }
  }
  export default typescript
}
