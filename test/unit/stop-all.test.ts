import test from 'tape'
import { stopAll } from '../../scripts/lib/harness/index.ts'

// A file's last test stops everything it started with one call: the order is the caller's,
// and a part that fails to stop must not leave the ones after it running.
test('stopAll stops each part in order with its own verb, skipping parts never started', async (t) => {
  const calls: string[] = []
  const app = { stop: async () => { await new Promise((resolve) => setTimeout(resolve, 5)); calls.push('app.stop') } }
  const proxy = { down: async () => { calls.push('proxy.down') } }
  const tables = { close: () => { calls.push('tables.close') } }
  await stopAll(tables, undefined, app, proxy)
  t.deepEqual(calls, ['tables.close', 'app.stop', 'proxy.down'], 'each awaited before the next, none skipped but the undefined one')
})

test('stopAll stops every part even when one fails, then reports the first failure', async (t) => {
  const calls: string[] = []
  const broken = { close: async () => { throw new Error('server would not close') } }
  const app = { stop: async () => { calls.push('app.stop') } }
  const alsoBroken = { down: () => { throw new Error('second failure') } }
  try {
    await stopAll(broken, alsoBroken, app)
    t.fail('a failure to stop should be reported')
  } catch (error) {
    t.equal((error as Error).message, 'server would not close', 'the first failure is the one reported')
  }
  t.deepEqual(calls, ['app.stop'], 'the app after the broken parts was still stopped')
})
