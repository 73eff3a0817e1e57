import { mkdir, writeFile } from 'node:fs/promises'
import type { Server } from 'node:http'
import { join } from 'node:path'
import { SQSClient } from '@aws-sdk/client-sqs'
import { readConfig } from '../../lib/config.ts'
import { EventSourceMapping } from './event-source-mapping.ts'
import { LocalSchedules, type ScheduledFunction } from './local-schedules.ts'
import { localQueueAddress, queueArn, queueUrl, queueUrlVariables, dlqName, startLocalQueues } from './local-queues.ts'
import { readQueueSettings, type QueueSettings } from './settings.ts'
import { transformTemplate, type CfnTemplate, type Stage } from './cloudformation.ts'
import { DEPLOY_SETTINGS_PRAGMA, readDeploySettings } from './deploy-settings.ts'
import { WarmFunction } from './warm-function.ts'

/** The slice of Architect's plugin arguments this plugin reads. */
interface ArcInventory {
  inv: {
    queues?: { name: string; src: string; handlerFile: string; handlerMethod: string; config: { timeout: number; memory: number } }[] | null
    scheduled?: ScheduledFunction[] | null
    _project: { build?: string | null; cwd: string }
    app?: string
  }
}
interface PluginArgs {
  arc: { queues?: Parameters<typeof readQueueSettings>[0]['queues']; [DEPLOY_SETTINGS_PRAGMA]?: Parameters<typeof readDeploySettings>[0] }
  inventory: ArcInventory
}
interface DeployArgs extends PluginArgs {
  cloudformation: CfnTemplate
  stage?: string
  stackName?: string
}
type Invoke = (options: { pragma: string; name: string; payload: unknown }) => Promise<unknown>

function settingsOf({ arc, inventory }: PluginArgs): QueueSettings[] {
  const consumerTimeouts = Object.fromEntries((inventory.inv.queues ?? []).map((queue) => [queue.name, queue.config.timeout]))
  const webhookTimeoutMs = readConfig().webhook?.timeoutMs ?? 5000
  return readQueueSettings({ queues: arc.queues, consumerTimeouts, webhookTimeoutMs })
}

/**
 * @architect/plugin-typescript bundles handlers as CommonJS into the build
 * folder, which sits inside this ESM package: mark the folder CommonJS so Node
 * loads the bundles as what they are (a deployed Lambda zip has no package.json).
 */
async function markBuildCommonJs(inventory: ArcInventory): Promise<void> {
  const build = inventory.inv._project.build
  if (!build) return
  await mkdir(build, { recursive: true })
  await writeFile(join(build, 'package.json'), '{ "type": "commonjs" }\n')
}

/**
 * A warm environment for a queue's consumer. While plugins start, sandbox has put
 * the variables it gives every Lambda (ARC_*, the app's settings, this plugin's
 * set.env) into process.env: the environment gets those.
 */
function consumerEnvironment(inventory: ArcInventory, name: string, env: Record<string, string | undefined>): WarmFunction {
  const lambda = inventory.inv.queues?.find((queue) => queue.name === name)
  if (!lambda) throw new Error(`@queues ${name} has no consumer function`)
  return new WarmFunction({
    label: `@queues ${name}`,
    handlerFile: lambda.handlerFile,
    handlerName: lambda.handlerMethod,
    cwd: lambda.src,
    timeoutSeconds: lambda.config.timeout,
    memoryMb: lambda.config.memory,
    env,
  })
}

const log = {
  info: (message: string) => console.log(`[queues] ${message}`),
  warn: (message: string) => console.warn(`[queues] ${message}`),
}

let running: { server: Server; mappings: EventSourceMapping[]; schedules: LocalSchedules } | undefined

export default {
  set: {
    /** Local Lambdas reach the local queues through the SDK's own endpoint setting: no sandbox branch in the app. */
    env({ arc, inventory }: PluginArgs) {
      const address = localQueueAddress()
      const testing: Record<string, string> = {
        AWS_ENDPOINT_URL_SQS: address.endpoint,
        // The AWS SDK's DynamoDB client (Powertools idempotency) finds the sandbox's tables here;
        // npm start pins ARC_TABLES_PORT so sandbox cannot move the tables to another port.
        AWS_ENDPOINT_URL_DYNAMODB: `http://127.0.0.1:${process.env.ARC_TABLES_PORT || 5555}`,
        // Sandbox starts a new process per invocation: V8's code cache spares each one recompiling its bundle.
        NODE_COMPILE_CACHE: join(inventory.inv._project.cwd, 'node_modules', '.cache', 'node-compile-cache'),
      }
      for (const item of arc.queues ?? []) {
        const name = typeof item === 'string' ? item : (Object.keys(item)[0] ?? '')
        const variables = queueUrlVariables(name)
        testing[variables.queue] = queueUrl(address, name)
        testing[variables.dlq] = queueUrl(address, dlqName(name))
      }
      return { testing }
    },
  },

  sandbox: {
    async start(args: PluginArgs & { invoke: Invoke }) {
      const queues = settingsOf(args)
      await markBuildCommonJs(args.inventory)
      const address = localQueueAddress()
      const server = await startLocalQueues(address, queues)
      log.info(`Local SQS listening on ${address.endpoint}: ${queues.map((queue) => `${queue.name}, ${dlqName(queue.name)}`).join(', ')}`)
      const client = new SQSClient({
        endpoint: address.endpoint,
        region: address.region,
        credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
      })
      const lambdaEnv = { ...process.env }
      const mappings = queues.map(
        (queue) =>
          new EventSourceMapping({
            client,
            queue,
            queueUrl: queueUrl(address, queue.name),
            queueArn: queueArn(address, queue.name),
            region: address.region,
            environment: () => consumerEnvironment(args.inventory, queue.name, lambdaEnv),
            log,
          }),
      )
      for (const mapping of mappings) mapping.start()
      const schedules = new LocalSchedules()
      schedules.start(args.inventory.inv.scheduled ?? [], (name) => args.invoke({ pragma: 'scheduled', name, payload: {} }), log)
      running = { server, mappings, schedules }
    },

    async end() {
      if (!running) return
      const { server, mappings, schedules } = running
      running = undefined
      schedules.stop()
      await Promise.all(mappings.map((mapping) => mapping.stop()))
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  },

  deploy: {
    /**
     * Refuses, before anything is deployed, the settings AWS would refuse, then
     * returns Architect's template with the queue's DLQ, event source mapping,
     * alarms, throttling, log groups, table protection and narrowed IAM (cloudformation.ts).
     */
    async start(args: DeployArgs): Promise<CfnTemplate> {
      const queues = settingsOf(args)
      const settings = readDeploySettings(args.arc[DEPLOY_SETTINGS_PRAGMA])
      if (args.stage !== undefined && args.stage !== 'staging' && args.stage !== 'production') throw new Error(`Unknown deploy stage "${args.stage}": staging or production`)
      const stage: Stage = args.stage ?? 'staging'
      const app = args.inventory.inv.app
      if (!app) throw new Error('The inventory has no @app name')
      return transformTemplate(args.cloudformation, { app, stage, queues, settings, stackName: args.stackName })
    },
  },
}
