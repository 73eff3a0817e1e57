import test from 'tape'
import { readConsumerSettings, readControlSettings, readLevelingSettings, SettingsError, validateSettings } from '../../src/lib/config.ts'

/** The adaptive leveling settings (docs/adaptive-leveling.md): defaults, rules, and refusals that name the setting. */

const problemsOf = (read: () => unknown): string[] => {
  try {
    read()
  } catch (error) {
    if (error instanceof SettingsError) return error.problems
    throw error
  }
  return []
}

test('defaults: a breaker of 5 failures, 30 s doubling to 600 s, no caps', (t) => {
  t.deepEqual(readLevelingSettings({}), { breaker: { failures: 5, openSeconds: 30, maxOpenSeconds: 600 }, maxPerSecond: {}, controlQueueUrl: undefined })
  t.end()
})

test('BREAKER_FAILURES=0 turns the breaker off; caps are whole or decimal calls per second', (t) => {
  const settings = readLevelingSettings({ BREAKER_FAILURES: '0', NOTIFY_WEBHOOK_MAX_PER_SECOND: '2', NOTIFY_EMAIL_MAX_PER_SECOND: '0.5', CONSUMER_CONTROL_QUEUE_URL: 'http://127.0.0.1:9324/000000000000/consumer-control' })
  t.equal(settings.breaker.failures, 0)
  t.deepEqual(settings.maxPerSecond, { webhook: 2, email: 0.5 })
  t.equal(settings.controlQueueUrl, 'http://127.0.0.1:9324/000000000000/consumer-control')
  t.end()
})

test('bad values are refused, each named', (t) => {
  const cases: [Record<string, string>, RegExp][] = [
    [{ BREAKER_FAILURES: '-1' }, /^BREAKER_FAILURES: /],
    [{ BREAKER_FAILURES: '2.5' }, /^BREAKER_FAILURES: /],
    [{ BREAKER_OPEN_SECONDS: '0' }, /^BREAKER_OPEN_SECONDS: /],
    [{ BREAKER_MAX_OPEN_SECONDS: '86401' }, /^BREAKER_MAX_OPEN_SECONDS: /],
    [{ BREAKER_OPEN_SECONDS: '60', BREAKER_MAX_OPEN_SECONDS: '30' }, /^BREAKER_MAX_OPEN_SECONDS: 30 must be at least BREAKER_OPEN_SECONDS \(60\)/],
    [{ NOTIFY_WEBHOOK_MAX_PER_SECOND: '0' }, /^NOTIFY_WEBHOOK_MAX_PER_SECOND: must be above 0/],
    [{ NOTIFY_WEBHOOK_MAX_PER_SECOND: 'fast' }, /^NOTIFY_WEBHOOK_MAX_PER_SECOND: must be a positive number/],
    [{ NOTIFY_EMAIL_MAX_PER_SECOND: '-3' }, /^NOTIFY_EMAIL_MAX_PER_SECOND: /],
    [{ NOTIFY_EMAIL_MAX_PER_SECOND: '1e3' }, /^NOTIFY_EMAIL_MAX_PER_SECOND: /],
  ]
  for (const [env, problem] of cases) {
    const problems = problemsOf(() => readLevelingSettings(env))
    t.ok(problems.some((each) => problem.test(each)), `${JSON.stringify(env)}: ${problems.join('; ')}`)
    t.ok(problemsOf(() => validateSettings(env)).some((each) => problem.test(each)), 'and npm start / deploy refuse it up front')
  }
  t.end()
})

test('the consumer reads them with its own settings; the control function needs its mapping and queue', (t) => {
  t.deepEqual(readConsumerSettings({ NOTIFY_LOG: 'true', BREAKER_FAILURES: '3' }).leveling.breaker, { failures: 3, openSeconds: 30, maxOpenSeconds: 600 })
  t.deepEqual(problemsOf(() => readControlSettings({})).sort(), [
    'CONSUMER_CONTROL_QUEUE_URL: is not set (the sqs-queues plugin sets it)',
    'NOTIFICATIONS_EVENT_SOURCE_MAPPING: is not set (the sqs-queues plugin sets it)',
  ])
  const control = readControlSettings({ NOTIFICATIONS_EVENT_SOURCE_MAPPING: 'uuid-1', CONSUMER_CONTROL_QUEUE_URL: 'https://sqs.example/control' })
  t.deepEqual([control.mappingUuid, control.controlQueueUrl], ['uuid-1', 'https://sqs.example/control'])
  t.end()
})
