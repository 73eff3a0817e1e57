import { Agent } from 'node:http'

/**
 * The settings of an AWS SDK client for a local stand-in (the sandbox's
 * tables, the local SQS server and Lambda API), for the local tools and the
 * dashboard. One attempt: the local servers answer at once or not at all, so
 * "not running" fails fast. A new connection per call: with one attempt, a
 * kept-alive socket that the server closes after its idle timeout just as the
 * client reuses it would fail the call for nothing (ECONNRESET), which a
 * long-lived client such as the dashboard or a test meets sooner or later.
 */
export function localClientConfig(endpoint: string, region: string) {
  return {
    endpoint,
    region,
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    maxAttempts: 1,
    requestHandler: { httpAgent: new Agent({ keepAlive: false }) },
  }
}
