import { ROOT, startTestApp, TEST_PORTS, type TestApp, type TestAppOptions } from '../../test/helpers/app.ts'

/**
 * The soak run's app: startTestApp's copy of the project under .tmp/ and its
 * ports (TEST_PORT_OFFSET, read when test/helpers/app.ts loads: import this
 * module only once it is set), but with sandbox's own output on, so that its
 * warnings (a Lambda cut off at its timeout) reach the captured app log, and
 * always trusting its own local issuer.
 */
export { ROOT, TEST_PORTS }

export async function startSoakApp(options: TestAppOptions): Promise<TestApp> {
  // The soak mints tokens of the app's own local issuer: an issuer (or scope names) of the shell's would refuse them.
  for (const name of Object.keys(process.env)) if (name.startsWith('AUTH_')) delete process.env[name]
  return startTestApp({ ...options, quiet: false })
}
