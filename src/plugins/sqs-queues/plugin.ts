import { mkdir, writeFile } from 'node:fs/promises'
import type { Server } from 'node:http'
import { join } from 'node:path'
import { SQSClient } from '@aws-sdk/client-sqs'
import { transformQueues } from './cloudformation.ts'
import { EventSourceMapping } from './event-source-mapping.ts'
import { LocalLambdaApi, localMappingUuid, mappingVariable } from './local-lambda-api.ts'
import { LocalSchedules, type ScheduledFunction } from './local-schedules.ts'
import { localQueueAddress, localQueueNames, queueArn, queueUrl, queueUrlVariables, startLocalQueues } from './local-queues.ts'
import { queueLogicalIds } from './names.ts'
import { queueKinds, readQueueSettings, type QueueSettings } from './settings.ts'
import type { CfnTemplate } from './template.ts'
import { readEmfLogSetting, WarmFunction } from './warm-function.ts'

/** The slice of Architect's plugin arguments this plugin reads. */
export interface ArcInventory {
  inv: {
    queues?: { name: string; src: string; handlerFile: string; handlerMethod: string; config: { timeout: number; memory: number } }[] | null
    scheduled?: ScheduledFunction[] | null
    _project: { build?: string | null; cwd: string; env?: { local?: Record<string, Record<string, string> | null> | null } }
    aws?: { region?: string }
    app?: string
  }
}
export interface PluginArgs {
  arc: { queues?: Parameters<typeof readQueueSettings>[0]['queues']; [pragma: string]: unknown }
  inventory: ArcInventory
}
export interface DeployArgs extends PluginArgs {
  cloudformation: CfnTemplate
  stage?: string
  stackName?: string
}
type Invoke = (options: { pragma: string; name: string; payload: unknown }) => Promise<unknown>

/** The `@queues` keys of app.arc, checked against the consumers' timeouts (their config.arc). */
export function queueSettingsOf({ arc, inventory }: PluginArgs): QueueSettings[] {
  const consumerTimeouts = Object.fromEntries((inventory.inv.queues ?? []).map((queue) => [queue.name, queue.config.timeout]))
  return readQueueSettings({ queues: arc.queues, aws: arc.aws, consumerTimeouts })
}

/** Where local Lambdas find the sandbox's DynamoDB: ARC_TABLES_PORT, else sandbox's default. */
const localTablesPort = (): number => Number(process.env.ARC_TABLES_PORT || 5555)

/**
 * The app's name (`@app`), which the local mappings' UUIDs derive from. While
 * plugins set variables the inventory's own is not filled in yet: the
 * project manifest's is the same.
 */
function appName({ arc, inventory }: PluginArgs): string {
  const declared = Array.isArray(arc.app) ? arc.app[0] : undefined
  return inventory.inv.app || (typeof declared === 'string' ? declared : '') || 'app'
}

/** The region of a local run: the shell's, else the app's `@aws region`, else us-east-1. */
const localRegion = (inventory: ArcInventory): string => process.env.AWS_REGION || inventory.inv.aws?.region || 'us-east-1'

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
 * the variables it gives every Lambda (ARC_*, the app's settings, the plugins'
 * set.env) into process.env: the environment gets those.
 */
function consumerEnvironment(inventory: ArcInventory, name: string, env: Record<string, string | undefined>, printMetrics: boolean): WarmFunction {
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
    printMetrics,
  })
}

/** The ports sandbox settled on, as it tells its Lambdas (ARC_SANDBOX). */
function sandboxPorts(): { tables?: number } {
  try {
    return (JSON.parse(process.env.ARC_SANDBOX ?? '{}') as { ports?: { tables?: number } }).ports ?? {}
  } catch {
    return {}
  }
}

const log = {
  info: (message: string) => console.log(`[queues] ${message}`),
  warn: (message: string) => console.warn(`[queues] ${message}`),
}

/** The local stand-in of AWS credentials: local Lambdas never hold real ones, as with @architect/functions' own. */
const LOCAL_CREDENTIALS = { AWS_ACCESS_KEY_ID: 'arcDummyAccessKey', AWS_SECRET_ACCESS_KEY: 'arcDummySecretKey' }

let running: { server: Server; mappings: EventSourceMapping[]; schedules: LocalSchedules } | undefined

/**
 * `@queues` with real SQS semantics, for any Architect app (this app's own
 * resources live in the queue-leveling plugin): locally an SQS-compatible server
 * and Lambda's event source mapping; on deploy the queues, DLQs and mappings.
 */
export default {
  set: {
    /**
     * What local Lambdas need to reach the local services through the AWS SDK's
     * own settings, so application code has no sandbox branch; a variable the
     * project's `.env` or preferences already set is left to them.
     */
    env({ arc, inventory }: PluginArgs) {
      const address = localQueueAddress(process.env, localRegion(inventory))
      const testing: Record<string, string> = {
        ...LOCAL_CREDENTIALS,
        AWS_REGION: address.region,
        AWS_ENDPOINT_URL_SQS: address.endpoint,
        // The same endpoint answers Lambda's event source mapping API (local-lambda-api.ts).
        AWS_ENDPOINT_URL_LAMBDA: address.endpoint,
        // The AWS SDK's DynamoDB client finds the sandbox's tables here (sandbox.start checks the port held).
        AWS_ENDPOINT_URL_DYNAMODB: `http://127.0.0.1:${localTablesPort()}`,
        // Sandbox starts a new process per invocation: V8's code cache spares each one recompiling its bundle.
        NODE_COMPILE_CACHE: join(inventory.inv._project.cwd, 'node_modules', '.cache', 'node-compile-cache'),
      }
      for (const queue of queueKinds({ queues: arc.queues, aws: arc.aws })) {
        const variables = queueUrlVariables(queue.name)
        const names = localQueueNames(queue)
        testing[variables.queue] = queueUrl(address, names.queue)
        testing[variables.dlq] = queueUrl(address, names.dlq)
        testing[mappingVariable(queue.name)] = localMappingUuid(appName({ arc, inventory }), queue.name)
      }
      const project = inventory.inv._project.env?.local?.testing ?? {}
      return { testing: Object.fromEntries(Object.entries(testing).filter(([name]) => project[name] === undefined)) }
    },
  },

  sandbox: {
    async start(args: PluginArgs & { invoke: Invoke }) {
      const queues = queueSettingsOf(args)
      const tables = sandboxPorts().tables
      if (tables !== undefined && tables !== localTablesPort()) {
        throw new Error(
          `Sandbox put DynamoDB on port ${tables}, not ${localTablesPort()} where the Lambdas' AWS SDK looks for it ` +
            `(port ${localTablesPort()} is busy?): free it, or set ARC_TABLES_PORT to a free port`,
        )
      }
      // Read while sandbox's variables (.env included) are in process.env, and refused up front when mistyped.
      const printMetrics = readEmfLogSetting()
      await markBuildCommonJs(args.inventory)
      const address = localQueueAddress()
      const lambdaApi = new LocalLambdaApi()
      const server = await startLocalQueues(address, queues, lambdaApi)
      log.info(`Local SQS listening on ${address.endpoint}: ${queues.map((queue) => Object.values(localQueueNames(queue)).join(', ')).join(', ')}`)
      const client = new SQSClient({
        endpoint: address.endpoint,
        region: address.region,
        credentials: { accessKeyId: LOCAL_CREDENTIALS.AWS_ACCESS_KEY_ID, secretAccessKey: LOCAL_CREDENTIALS.AWS_SECRET_ACCESS_KEY },
      })
      const lambdaEnv = { ...process.env }
      const mappings = queues.map(
        (queue) =>
          new EventSourceMapping({
            client,
            queue,
            queueUrl: queueUrl(address, localQueueNames(queue).queue),
            queueArn: queueArn(address, localQueueNames(queue).queue),
            region: address.region,
            environment: () => consumerEnvironment(args.inventory, queue.name, lambdaEnv, printMetrics),
            log,
            uuid: localMappingUuid(appName(args), queue.name),
            functionName: queueLogicalIds(queue.name).lambda,
          }),
      )
      for (const mapping of mappings) {
        lambdaApi.register(mapping)
        mapping.start()
      }
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
    /** Refuses, before anything is deployed, queue settings AWS would refuse; then makes the queues real (cloudformation.ts). */
    async start(args: DeployArgs): Promise<CfnTemplate> {
      return transformQueues(args.cloudformation, queueSettingsOf(args))
    },
  },
}
