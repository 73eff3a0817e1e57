import { parseArgs } from 'node:util'
import { LOCAL_EMAIL_DEFAULT_PORT, startLocalEmail } from './lib/local-email.ts'

// `npm run email -- [--port 8005]`: a local SES (aws-ses-v2-local) on
// 127.0.0.1 for the email channel of `npm start`; its inbox is a page at the
// same address. Ctrl-C stops it.
const { values } = parseArgs({ options: { port: { type: 'string', default: String(LOCAL_EMAIL_DEFAULT_PORT) } } })
const port = Number(values.port)
if (!Number.isInteger(port) || port < 1 || port > 65_535) {
  console.error(`--port must be a port number, got ${values.port}`)
  process.exit(2)
}
const { url } = await startLocalEmail(port)
console.log(`Local SES listening: AWS_ENDPOINT_URL_SESV2=${url} (its inbox: open ${url}/ in a browser)`)
