import { offsetPorts, startSandboxApp, type PortSet, type SandboxApp, type SandboxAppOptions } from './harness/index.ts'

/**
 * The soak run's app: the harness's copy of the project under .tmp/, on the
 * ports `portOffset` above the harness's bases (so a developer's `npm start`
 * keeps running), with sandbox's own output on, so that its warnings (a Lambda
 * cut off at its timeout) reach the captured app log, and always trusting its
 * own local issuer.
 */
export function soakPorts(portOffset: number): PortSet {
  return offsetPorts(portOffset)
}

export async function startSoakApp(options: SandboxAppOptions): Promise<SandboxApp> {
  // The soak mints tokens of the app's own local issuer: an issuer (or scope names) of the shell's would refuse them.
  for (const name of Object.keys(process.env)) if (name.startsWith('AUTH_')) delete process.env[name]
  return startSandboxApp({ ...options, quiet: false })
}
