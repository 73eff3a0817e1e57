import { relative } from 'node:path'
import { pathToFileURL } from 'node:url'
import test from 'tape'

/**
 * Runs several test files in one Node process, as one tape run: `node
 * test/batch.ts <file>...`. test/run.ts runs the unit tests this way, because
 * each of them costs more to start (Node, the TypeScript stripping, tape,
 * fast-check, the modules under test) than to run, and the suite is
 * CPU-bound on two cores.
 *
 * Every file is loaded before any test runs, so one file's top-level await
 * (a template built, a server started) never interleaves with another
 * file's tests. Tests then run one at a time, in file order; a test that
 * changes process.env puts it back before it ends. The last line, `#
 * batch-seconds {...}`, gives each file's seconds (loading and tests), for
 * the runner's order.
 */
export const BATCH_SECONDS_PREFIX = '# batch-seconds '

// Run as the entry only: test/run.ts imports the prefix above.
if (import.meta.main) {
  test.wait()
  // A file's seconds: its loading (with its top-level awaits) and its tests.
  const seconds: Record<string, number> = {}
  let current: { file: string; since: number } | undefined
  const lap = (): void => {
    if (current) seconds[current.file] = Math.round((seconds[current.file]! + (performance.now() - current.since) / 1000) * 10) / 10
  }
  for (const file of process.argv.slice(2)) {
    const name = relative(process.cwd(), file)
    // An assertion-free test at each file's start: it times the file's tests and counts as neither passed nor failed.
    test(`${name}: its tests follow`, (t) => {
      lap()
      current = { file: name, since: performance.now() }
      t.end()
    })
    const loading = performance.now()
    // A file that does not load fails as a test of its own, and the other files still run.
    const failure = await import(pathToFileURL(file).href).then(() => undefined, (error: unknown) => error)
    if (failure) test(`${name} loads`, (t) => t.end(failure))
    seconds[name] = (performance.now() - loading) / 1000
  }
  test.onFinish(() => {
    lap()
    console.log(`${BATCH_SECONDS_PREFIX}${JSON.stringify(seconds)}`)
  })
  test.run()
}
