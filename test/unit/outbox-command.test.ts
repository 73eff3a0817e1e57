import test from 'tape'
import { formatParked } from '../../scripts/lib/outbox.ts'
import { UsageError } from '../../scripts/lib/command-line.ts'
import { parseOutboxArgs } from '../../scripts/lib/outbox-args.ts'

/** The command line and the listing of `npm run outbox`. */

test('arguments: a command, an optional task and stage', (t) => {
  t.deepEqual(parseOutboxArgs(['parked']), { command: 'parked' })
  t.deepEqual(parseOutboxArgs(['retry', '--task', 'abc', '--env', 'production']), { command: 'retry', task: 'abc', env: 'production' })
  t.equal(parseOutboxArgs(['--help']), 'help')
  t.equal(parseOutboxArgs(['-h']), 'help')
  const refused: [string[], RegExp][] = [
    [[], /Missing command/],
    [['replay'], /Unknown command "replay"/],
    [['parked', 'extra'], /Unexpected argument "extra"/],
    [['parked', '--env', 'dev'], /--env must be staging or production, got "dev"/],
    [['retry', '--task', ''], /--task must be a task id/],
    [['retry', '--task'], /argument missing|--task/],
    [['parked', '--max', '3'], /Unknown option '--max'/],
  ]
  for (const [argv, message] of refused) {
    t.throws(() => parseOutboxArgs(argv), (error: unknown) => error instanceof UsageError && message.test(error.message), `${JSON.stringify(argv)}: ${message}`)
  }
  t.end()
})

test('listing: one aligned line per parked event under a header, and a count', (t) => {
  t.equal(formatParked([]), 'No parked events.')
  const text = formatParked([
    { taskId: 'task-1', event: 'task_created', version: 1, refusals: 3, reason: 'InvalidMessageContents: Invalid characters', since: '2025-01-01T00:00:00.000Z' },
    { taskId: 'task-1', event: 'task_updated', version: 12, refusals: 3, reason: 'InvalidParameterValue: too long', since: '2025-01-01T00:01:00.000Z' },
  ])
  t.equal(
    text,
    [
      'TASK    EVENT         VERSION  PARKED SINCE              REFUSALS  REASON',
      'task-1  task_created  1        2025-01-01T00:00:00.000Z  3         InvalidMessageContents: Invalid characters',
      'task-1  task_updated  12       2025-01-01T00:01:00.000Z  3         InvalidParameterValue: too long',
      '',
      '2 parked events in 1 task.',
    ].join('\n'),
  )
  t.end()
})
