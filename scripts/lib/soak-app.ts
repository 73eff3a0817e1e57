import { ROOT, startTestApp, TEST_PORTS, type TestApp, type TestAppOptions } from '../../test/helpers/app.ts'

/**
 * The soak run's app: startTestApp's copy of the project under .tmp/ and its
 * ports (TEST_PORT_OFFSET, read when test/helpers/app.ts loads: import this
 * module only once it is set), but with sandbox's own output on, so that its
 * warnings (a Lambda cut off at its timeout) reach the captured app log.
 */
export { ROOT, TEST_PORTS }

export async function startSoakApp(options: TestAppOptions): Promise<TestApp> {
  return startTestApp({ ...options, quiet: false })
}
