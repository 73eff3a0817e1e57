// postinstall: local-aws-sqs 2.0.2 counts a ChangeMessageVisibility as a receive
// (it shares the receive path's bookkeeping), so a consumer that backs off moves
// messages to the DLQ after fewer real receives than maxReceiveCount. On AWS a
// visibility change is not a receive. This makes the shared step add 1 only for
// a receive. It checks the exact text and says so if the package has changed.
import { readFileSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'

const file = createRequire(import.meta.url).resolve('local-aws-sqs')
const source = readFileSync(file, 'utf8')
const buggy = 'let n=Number(t.record.attributes.ApproximateReceiveCount)+1;'
const fixed = 'let n=Number(t.record.attributes.ApproximateReceiveCount)+(i?0:1);'
if (source.includes(fixed)) {
  console.log('local-aws-sqs: visibility-change patch already applied')
} else if (source.includes(buggy) && source.split(buggy).length === 2) {
  writeFileSync(file, source.replace(buggy, fixed))
  console.log('local-aws-sqs: patched so ChangeMessageVisibility is not counted as a receive')
} else {
  console.warn('local-aws-sqs: unknown version, visibility-change patch not applied; check test/failures and test/backoff')
}
