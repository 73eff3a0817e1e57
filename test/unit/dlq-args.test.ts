import test from 'tape'
import { UsageError } from '../../scripts/lib/command-line.ts'
import { parseDlqArgs } from '../../scripts/lib/dlq-args.ts'

/** The command line of `npm run dlq` (test/dlq.test.ts runs the tool itself, with one bad command line). */

test('arguments: a command, its options and an optional stage', (t) => {
  t.deepEqual(parseDlqArgs(['stats']), { command: 'stats', env: undefined, queue: 'notifications', max: 10, yes: false })
  t.deepEqual(parseDlqArgs(['peek', '--max', '1000', '--queue', 'consumer-control', '--env', 'staging']), { command: 'peek', env: 'staging', queue: 'consumer-control', max: 1000, yes: false })
  t.deepEqual(parseDlqArgs(['purge', '--yes']), { command: 'purge', env: undefined, queue: 'notifications', max: 10, yes: true })
  t.equal(parseDlqArgs(['--help']), 'help')
  t.equal(parseDlqArgs(['replay', '-h']), 'help')
  const refused: [string[], RegExp][] = [
    [[], /Missing command/],
    [['bogus'], /Unknown command "bogus"/],
    [['stats', 'extra'], /Unexpected argument "extra"/],
    [['stats', '--env', 'dev'], /--env must be staging or production, got "dev"/],
    [['stats', '--force'], /Unknown option '--force'/],
    [['peek', '--max', '0'], /--max must be a whole number from 1 to 1000, got "0"/],
    [['peek', '--max', '1001'], /--max must be a whole number from 1 to 1000, got "1001"/],
    [['peek', '--max', 'ten'], /--max must be a whole number from 1 to 1000, got "ten"/],
    [['peek', '--max', '2.5'], /--max must be a whole number/],
    [['stats', '--queue', 'no such/queue'], /--queue must be a queue name from app.arc/],
    [['stats', '--queue', ''], /--queue must be a queue name/],
  ]
  for (const [argv, message] of refused) {
    t.throws(() => parseDlqArgs(argv), (error: unknown) => error instanceof UsageError && message.test(error.message), `${JSON.stringify(argv)}: ${message}`)
  }
  t.end()
})
