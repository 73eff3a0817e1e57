import test from 'tape'
import { refusalOf } from '../helpers/refusal.ts'
import { readConsumerSettings, readHttpSettings, readProducerSettings, SettingsError, validateSettings } from '../../src/lib/config.ts'
import { retryBudgetSeconds } from '../../src/lib/notifications/retry.ts'
import appPlugin from '../../src/plugins/queue-leveling/plugin.ts'
import { freePort } from '../../scripts/lib/harness/index.ts'


test('each function reads only its own settings: a bad consumer setting does not stop the HTTP routes', (t) => {
  const env = { RETRY_BASE_SECONDS: 'soon', NOTIFY_WEBHOOK_URL: 'not a url', NOTIFICATIONS_QUEUE_URL: 'http://127.0.0.1:9324/000000000000/notifications' }
  t.deepEqual(readHttpSettings(env), { corsAllowOrigin: '*' }, 'every HTTP route reads CORS only')
  t.equal(readProducerSettings(env).notificationsQueueUrl, env.NOTIFICATIONS_QUEUE_URL, 'the write routes read the queue and SQS settings only')
  t.match(refusalOf(() => readConsumerSettings(env)), /RETRY_BASE_SECONDS/, 'the consumer refuses its own bad setting')
  t.match(refusalOf(() => readConsumerSettings(env)), /NOTIFY_WEBHOOK_URL/, 'naming every problem')
  t.match(refusalOf(() => readProducerSettings({ SQS_TIMEOUT_MS: 'fast', CORS_ALLOW_ORIGIN: 'x' })), /^Invalid settings: SQS_TIMEOUT_MS: .*, NOTIFICATIONS_QUEUE_URL: is not set$|^Invalid settings: SQS_TIMEOUT_MS: [^,]*$/, 'the producer names its own')
  t.end()
})

test('validateSettings, run before anything starts, names every invalid setting of every function', (t) => {
  const message = refusalOf(() => validateSettings({ CORS_ALLOW_ORIGIN: ' ', SQS_MAX_ATTEMPTS: '9', RETRY_MAX_SECONDS: '-1', NOTIFY_LOG: 'yes', NOTIFY_EMAIL_TO: 'ops@example.com' }))
  for (const name of ['SQS_MAX_ATTEMPTS', 'RETRY_MAX_SECONDS', 'NOTIFY_LOG', 'NOTIFY_EMAIL_FROM']) t.match(message, new RegExp(name), `names ${name}`)
  t.doesNotMatch(message, /CORS_ALLOW_ORIGIN/, 'an empty CORS origin is the default, not an error')
  t.equal(refusalOf(() => validateSettings({})), 'accepted', 'no settings at all is valid (the queue URL is the plugin’s to set)')
  t.end()
})

test('the log channel is a setting: off unless NOTIFY_LOG is true', (t) => {
  t.equal(readConsumerSettings({}).log, false, 'off by default: a deployed consumer with no channel records nothing')
  t.equal(readConsumerSettings({ NOTIFY_LOG: 'true' }).log, true)
  t.equal(readConsumerSettings({ NOTIFY_LOG: 'FALSE' }).log, false)
  t.match(refusalOf(() => readConsumerSettings({ NOTIFY_LOG: '1' })), /NOTIFY_LOG: must be true or false/)
  t.end()
})

test('the shipped retry settings ride out a 15-minute outage: 60 + 120 + 240 + 480 = 900 s', (t) => {
  const { retry } = readConsumerSettings({})
  t.deepEqual(retry, { baseSeconds: 60, maxSeconds: 900 }, 'RETRY_BASE_SECONDS 60, RETRY_MAX_SECONDS 900')
  t.equal(retryBudgetSeconds(5, retry), 900, 'with maxReceiveCount 5')
  t.equal(retryBudgetSeconds(3, retry), 180, 'the old 3 receives gave 3 minutes')
  t.equal(retryBudgetSeconds(7, retry), 60 + 120 + 240 + 480 + 900 + 900, 'waits are capped at RETRY_MAX_SECONDS')
  t.end()
})

type SetEnvArgs = Parameters<typeof appPlugin.set.env>[0]
const setEnvArgs = (projectEnv: Record<string, string>): SetEnvArgs => ({ arc: {}, inventory: { inv: { _project: { cwd: '/app', env: { local: { testing: projectEnv } } } } } })

test('local runs turn the log channel on when no other channel is configured, and trust the local issuer when no other', (t) => {
  const saved = { ...process.env }
  const logChannel = (projectEnv: Record<string, string>) => appPlugin.set.env(setEnvArgs(projectEnv)).testing.NOTIFY_LOG
  try {
    for (const name of Object.keys(process.env)) if (name.startsWith('NOTIFY_') || name.startsWith('AUTH_') || name === 'LOCAL_ISSUER_PORT') delete process.env[name]
    t.equal(logChannel({}), 'true', 'nothing configured: the log channel')
    t.equal(logChannel({ NOTIFY_WEBHOOK_URL: 'http://127.0.0.1:4000/hook' }), undefined, 'a webhook in .env: just the webhook')
    t.equal(logChannel({ NOTIFY_LOG: 'false' }), undefined, 'an explicit NOTIFY_LOG is the project’s own')
    const local = appPlugin.set.env(setEnvArgs({})).testing
    t.deepEqual([local.AUTH_ISSUER, local.AUTH_AUDIENCE], ['http://127.0.0.1:3335', 'queue-leveling-local'], 'no issuer configured: the local one')
    const other = appPlugin.set.env(setEnvArgs({ AUTH_ISSUER: 'https://issuer.example' })).testing
    t.deepEqual([other.AUTH_ISSUER, other.AUTH_AUDIENCE], [undefined, undefined], 'an issuer in .env: the plugin adds none')
    process.env.NOTIFY_EMAIL_TO = 'ops@example.com'
    process.env.AUTH_ISSUER = 'https://issuer.example'
    const fromShell = appPlugin.set.env(setEnvArgs({})).testing
    // What the plugin always gives local Lambdas (the tables' endpoint, the code cache) stays; neither the log channel nor the local issuer is added.
    t.deepEqual(
      [fromShell.NOTIFY_LOG, fromShell.AUTH_ISSUER, fromShell.AUTH_AUDIENCE, fromShell.AUTH_JWKS_URL],
      [undefined, undefined, undefined, undefined],
      'an email channel and an issuer in the environment of npm start: no log channel, no local issuer added',
    )
  } finally {
    process.env = saved
  }
  t.end()
})

test('npm start refuses a webhook timeout that does not fit in the consumer timeout', async (t) => {
  const saved = { ...process.env }
  const args = {
    arc: { queues: [{ notifications: { fifo: false, visibilityTimeout: 5 } }] },
    inventory: { inv: { queues: [{ name: 'notifications', src: '', handlerFile: '', handlerMethod: 'handler', config: { timeout: 5, memory: 128 } }], _project: { cwd: '/app' } } },
  }
  try {
    // Off the default ports of a developer's npm start; the issuer only when the Lambdas would trust it.
    process.env.AUTH_ISSUER = 'https://issuer.example'
    process.env.DASHBOARD_PORT = String(await freePort())
    // What sandbox and the sqs-queues plugin give the plugins at start, for the dashboard's consumer box.
    process.env.ARC_APP_NAME = 'queue-leveling'
    process.env.NOTIFICATIONS_EVENT_SOURCE_MAPPING = 'mapping-uuid'
    process.env.NOTIFY_WEBHOOK_URL = 'http://127.0.0.1:4000/hook'
    process.env.NOTIFY_WEBHOOK_TIMEOUT_MS = '5000'
    const refused = await appPlugin.sandbox.start(args).then(() => 'accepted', (error: unknown) => (error instanceof SettingsError ? error.message : String(error)))
    t.match(refused, /NOTIFY_WEBHOOK_TIMEOUT_MS: 5000 must be below the notifications consumer's timeout of 5s/)
    process.env.NOTIFY_WEBHOOK_TIMEOUT_MS = '4999'
    t.equal(await appPlugin.sandbox.start(args).then(() => 'accepted'), 'accepted', 'just under it is fine')
  } finally {
    // A start that passed its checks also started the local services (issuer, dashboard): stop them.
    await appPlugin.sandbox.end()
    process.env = saved
  }
})
