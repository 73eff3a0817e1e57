const { appendFileSync } = require('node:fs')
const { join } = require('node:path')
const arc = require('@architect/functions')

// arc.queues.subscribe hands each record's parsed payload to the function; a throw fails the batch.
exports.handler = arc.queues.subscribe(async function job (payload) {
  appendFileSync(join(process.env.RECEIPTS_DIR, 'jobs.jsonl'), JSON.stringify({ payload, at: Date.now() }) + '\n')
  if (payload.fail) throw new Error(`job ${payload.id} failed`)
})
