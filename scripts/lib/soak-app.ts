import { SQSClient } from '@aws-sdk/client-sqs'
import { prepareAppCopy, ROOT, TEST_PORTS, type TestApp, type TestAppOptions } from '../../test/helpers/app.ts'
import { startSandbox, stopSandbox } from '../sandbox.ts'

/**
 * The soak run's app: startTestApp's copy of the project under .tmp/ and its
 * ports (TEST_PORT_OFFSET, read when test/helpers/app.ts loads: import this
 * module only once it is set), but with sandbox's own output on, so that its
 * warnings (a Lambda cut off at its timeout) reach the captured app log.
 */
export { ROOT, TEST_PORTS }

export async function startSoakApp(options: TestAppOptions): Promise<TestApp> {
  const cwd = await prepareAppCopy(options)
  for (const [name, value] of Object.entries(TEST_PORTS)) process.env[name] = String(value)
  for (const [name, value] of Object.entries(options.env ?? {})) process.env[name] = value
  process.env.AWS_ACCESS_KEY_ID ||= 'local'
  process.env.AWS_SECRET_ACCESS_KEY ||= 'local'
  process.env.AWS_REGION ||= 'us-east-1'
  await startSandbox({ cwd, port: TEST_PORTS.PORT, quiet: false, lambdaEnv: options.lambdaEnv ?? {} })
  const endpoint = `http://127.0.0.1:${TEST_PORTS.ARC_SQS_PORT}`
  const sqs = new SQSClient({ endpoint, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } })
  return {
    baseUrl: `http://localhost:${TEST_PORTS.PORT}`,
    sqsEndpoint: endpoint,
    sqs,
    queueUrl: `${endpoint}/000000000000/notifications`,
    dlqUrl: `${endpoint}/000000000000/notifications-dlq`,
    async stop() {
      sqs.destroy()
      await stopSandbox()
    },
  }
}
