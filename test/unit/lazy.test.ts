import test from 'tape'
import { lazy } from '../../src/lib/lazy.ts'

// A transient failure at first use (a table discovery, SSM, an SDK import) must
// fail that call only: the next call tries again instead of reusing the rejection.
test('a failed first use is tried again by the next call, and a success is kept', async (t) => {
  let attempts = 0
  const shared = lazy(async () => {
    attempts++
    if (attempts === 1) throw new Error('transient: table discovery timed out')
    return { attempt: attempts }
  })
  try {
    await shared()
    t.fail('the first use should fail')
  } catch (error) {
    t.equal((error as Error).message, 'transient: table discovery timed out', 'the first caller sees the failure')
  }
  const second = await shared()
  t.deepEqual(second, { attempt: 2 }, 'the second call makes a new attempt, which succeeds')
  t.equal(await shared(), second, 'then the same instance is shared')
  t.equal(attempts, 2, 'and nothing is made again')
})

test('concurrent first uses share one attempt; a synchronous throw is a rejection, retried too', async (t) => {
  let attempts = 0
  const shared = lazy(async () => {
    attempts++
    await new Promise((resolve) => setTimeout(resolve, 10))
    return attempts
  })
  t.deepEqual(await Promise.all([shared(), shared(), shared()]), [1, 1, 1], 'one attempt for concurrent callers')
  let calls = 0
  const throwing = lazy((): Promise<string> => {
    calls++
    if (calls === 1) throw new Error('sync failure')
    return Promise.resolve('ok')
  })
  await throwing().then(
    () => t.fail('should reject'),
    (error: unknown) => t.equal((error as Error).message, 'sync failure', 'a synchronous throw becomes a rejection'),
  )
  t.equal(await throwing(), 'ok', 'and is tried again')
})
