const { appendFileSync } = require('node:fs')
const { join } = require('node:path')
const arc = require('@architect/functions')

// @events still reach their subscriber through sandbox's own event bus.
exports.handler = arc.events.subscribe(async function ping (payload) {
  appendFileSync(join(process.env.RECEIPTS_DIR, 'events.jsonl'), JSON.stringify({ payload }) + '\n')
})
