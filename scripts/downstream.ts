import { parseArgs } from 'node:util'
import { WebhookReceiver } from './lib/webhook-receiver.ts'

// `npm run downstream -- --port 4000 --delay-ms 1000 --fail-rate 0.2`: a local
// webhook receiver to point NOTIFY_WEBHOOK_URL at; prints what it sees.
const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '4000' },
    'delay-ms': { type: 'string', default: '0' },
    'fail-rate': { type: 'string', default: '0' },
  },
})
const failRate = Number(values['fail-rate'])
const receiver = new WebhookReceiver()
receiver.behaviour = { delayMs: Number(values['delay-ms']), status: () => (Math.random() < failRate ? 503 : 200) }
const url = await receiver.listen(Number(values.port))
console.log(`Downstream listening: NOTIFY_WEBHOOK_URL=${url} (delay ${values['delay-ms']} ms, fail rate ${failRate})`)

let reported = 0
setInterval(() => {
  const calls = receiver.calls.length
  if (calls === reported && receiver.inFlight === 0) return
  console.log(`${new Date().toISOString()} in flight ${receiver.inFlight} (max ${receiver.maxInFlight}), calls ${calls} (+${calls - reported}), delivered ${receiver.deliveredIds().length}`)
  reported = calls
}, 1000)
