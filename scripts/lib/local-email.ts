import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import startSes from 'aws-ses-v2-local'
import { guardServer } from 'arc-plugin-sqs-queues/local-only'

/**
 * The email stand-in for local runs: aws-ses-v2-local, which by itself
 * listens on every interface (`::`) and shows every email it took to anyone
 * who asks (`GET /store`, its inbox page). Here it listens on 127.0.0.1 only,
 * behind the local-only guard, so neither the network nor a web page open in
 * the developer's browser can read or send mail through it.
 */
export const LOCAL_EMAIL_DEFAULT_PORT = 8005

export interface LocalEmail {
  /** The value for AWS_ENDPOINT_URL_SESV2; the inbox page is at the same address. */
  url: string
  server: Server
}

export async function startLocalEmail(port = LOCAL_EMAIL_DEFAULT_PORT): Promise<LocalEmail> {
  const server = guardServer(await startSes.default({ host: '127.0.0.1', port }))
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server }
}
