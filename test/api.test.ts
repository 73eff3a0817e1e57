import test from 'tape'
import { answersAt } from './helpers/http.ts'
import { apiApp } from './api/app.ts'
// In this order: the hostile files pause the consumer (HostileSession.on), which the contract's delivery log needs.
import './api/http-contract.ts'
import './api/hostile-bodies.ts'
import './api/hostile-paths.ts'
import './api/hostile-auth.ts'

/**
 * The HTTP contract and the hostile-input properties, against one app
 * (test/api/app.ts): an app start costs more CPU than most of what these
 * files send it, and each isolates itself by caller.
 */
test('stop the app', async (t) => {
  const app = await apiApp()
  await app.stop()
  t.equal(await answersAt(app.sandboxUrl), 'refused', 'the sandbox no longer answers')
  t.equal(await answersAt(app.baseUrl), 'refused', 'the warm API no longer answers')
})
