import { existsSync } from 'node:fs'
import { join } from 'node:path'
import test from 'tape'
import { ROOT, startSandboxApp } from '../scripts/lib/harness/index.ts'

// The build refuses queue settings AWS would refuse, with a message naming the
// key, before anything runs (the same check guards `arc deploy`).
test('npm start refuses a batchSize above 10 without a batch window', async (t) => {
  try {
    const app = await startSandboxApp({ name: 'invalid-settings', queue: { batchSize: 11, batchWindow: 0 } })
    await app.stop()
    t.fail('the sandbox started')
  } catch (error) {
    t.match(String((error as Error).message), /batchSize 11 is above 10, which AWS allows only with batchWindow of at least 1 second/)
  }
})

test('npm start refuses a visibility timeout below the consumer timeout', async (t) => {
  try {
    const app = await startSandboxApp({ name: 'invalid-settings', queue: { visibilityTimeout: 20 }, consumerTimeout: 30 })
    await app.stop()
    t.fail('the sandbox started')
  } catch (error) {
    t.match(String((error as Error).message), /visibilityTimeout 20s is below the consumer's timeout of 30s/)
  }
})

test('npm start refuses an invalid runtime setting before anything runs, naming it', async (t) => {
  try {
    const app = await startSandboxApp({ name: 'invalid-settings', env: { RETRY_BASE_SECONDS: 'soon', NOTIFY_WEBHOOK_URL: 'http://example.com/hook' } })
    await app.stop()
    t.fail('the sandbox started')
  } catch (error) {
    const message = String((error as Error).message)
    t.match(message, /RETRY_BASE_SECONDS/, 'names the consumer-only setting')
    t.match(message, /NOTIFY_WEBHOOK_URL: must be https \(plain http only to a loopback address\)/, 'and every other invalid one')
  }
})

test('a refused start leaves no copy of the app behind', (t) => {
  t.notOk(existsSync(join(ROOT, '.tmp', 'test-apps', `invalid-settings-${process.pid}`)), 'the harness removed the copy each refused start made')
  t.end()
})
