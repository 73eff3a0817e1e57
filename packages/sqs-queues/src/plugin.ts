import type { Server } from 'node:http'
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs'
import { transformQueues } from './cloudformation.ts'
import { EventSourceMapping, type ConsumerEnvironment } from './event-source-mapping.ts'
import { LocalLambdaApi, localMappingUuid, mappingVariable } from './local-lambda-api.ts'
import { localQueueAddress, localQueueNames, queueArn, queueUrl, queueUrlVariables, startLocalQueues } from './local-queues.ts'
import { queueLogicalIds } from './names.ts'
import { listeningServerOn, takeOverQueuePublishes, type PublishTarget } from './sandbox-event-bus.ts'
import { queueKinds, readQueueSettings, type QueueSettings } from './settings.ts'
import type { CfnTemplate } from './template.ts'
import { readEmfLogSetting, runsOnNode, warmFunctionOf, type InventoryLambda } from './warm-function.ts'

/** A queue's consumer as Architect's inventory describes it. */
export interface QueueLambda extends InventoryLambda {
  name: string
}

/** The slice of Architect's plugin arguments this plugin reads. */
export interface ArcInventory {
  inv: {
    queues?: QueueLambda[] | null
    _project: { cwd: string; env?: { local?: Record<string, Record<string, string> | null> | null } }
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
/** Sandbox's own invoker, as it hands it to plugins: the handler's response, or its error. */
export type Invoke = (options: { pragma: string; name: string; payload: unknown }) => Promise<unknown>

/** The `@queues` keys of app.arc, checked against the consumers' timeouts (their config.arc). */
export function queueSettingsOf({ arc, inventory }: PluginArgs): QueueSettings[] {
  const consumerTimeouts = Object.fromEntries((inventory.inv.queues ?? []).map((queue) => [queue.name, queue.config.timeout]))
  return readQueueSettings({ queues: arc.queues, aws: arc.aws, consumerTimeouts })
}

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

const log = {
  info: (message: string) => console.log(`[queues] ${message}`),
  warn: (message: string) => console.warn(`[queues] ${message}`),
}

/**
 * Where a queue's consumer runs, one environment per poller. A Node.js consumer
 * runs in a warm environment, as Lambda keeps one between batches (see
 * warm-function.ts). Any other runtime (Python, Ruby, Deno, a compiled one) is
 * invoked through sandbox's own invoker, which runs each invocation in a new
 * process and answers the handler's response: the batch, its partial batch
 * response and its failures are the same either way. While plugins start,
 * sandbox has put the variables it gives every Lambda (ARC_*, the app's
 * settings, the plugins' set.env) into process.env: the warm environment gets
 * those.
 */
function consumerEnvironment(lambda: QueueLambda, invoke: Invoke, env: Record<string, string | undefined>, printMetrics: boolean): ConsumerEnvironment {
  if (!runsOnNode(lambda)) return { invoke: (event) => invoke({ pragma: 'queues', name: lambda.name, payload: event }), stop: async () => {} }
  return warmFunctionOf(`@queues ${lambda.name}`, lambda, env, { printMetrics })
}

/** Sandbox's events port, as it tells its Lambdas (ARC_SANDBOX): where @architect/functions publishes. */
function sandboxEventsPort(): number | undefined {
  try {
    return (JSON.parse(process.env.ARC_SANDBOX ?? '{}') as { ports?: { events?: number } }).ports?.events
  } catch {
    return undefined
  }
}

/**
 * Sandbox's event bus, which the plugin puts the local queues behind
 * (sandbox-event-bus.ts); the plugin refuses to run without it.
 */
function sandboxEventBus(): Server {
  const port = sandboxEventsPort()
  const bus = port === undefined ? undefined : listeningServerOn(port)
  if (bus) return bus
  throw new Error(
    `Sandbox's event bus (port ${port ?? 'unknown'}) was not found: arc.queues.publish would invoke consumers directly, past the local queues. ` +
      'Is this plugin loaded through @plugins, before sandbox starts?',
  )
}

/** The local stand-in of AWS credentials: local Lambdas never hold real ones, as with @architect/functions' own. */
const LOCAL_CREDENTIALS = { AWS_ACCESS_KEY_ID: 'arcDummyAccessKey', AWS_SECRET_ACCESS_KEY: 'arcDummySecretKey' }

let running: { server: Server; mappings: EventSourceMapping[]; client: SQSClient; restoreEventBus: () => void } | undefined

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
      if (!queues.length) return
      // Read while sandbox's variables (.env included) are in process.env, and refused up front when mistyped.
      const printMetrics = readEmfLogSetting()
      const bus = sandboxEventBus()
      // The region set.env gave the Lambdas, so a record's eventSourceARN names the region they run in.
      const address = localQueueAddress(process.env, localRegion(args.inventory))
      const lambdaApi = new LocalLambdaApi()
      const server = await startLocalQueues(address, queues, lambdaApi)
      log.info(`Local SQS listening on ${address.endpoint}: ${queues.map((queue) => Object.values(localQueueNames(queue)).join(', ')).join(', ')}`)
      const client = new SQSClient({
        endpoint: address.endpoint,
        region: address.region,
        credentials: { accessKeyId: LOCAL_CREDENTIALS.AWS_ACCESS_KEY_ID, secretAccessKey: LOCAL_CREDENTIALS.AWS_SECRET_ACCESS_KEY },
      })
      const targets = new Map<string, PublishTarget>(queues.map((queue) => [queue.name, { queueUrl: queueUrl(address, localQueueNames(queue).queue), fifo: queue.fifo !== undefined }]))
      const restoreEventBus = takeOverQueuePublishes(bus, { targets, send: (input) => client.send(new SendMessageCommand(input)), log })
      const lambdaEnv = { ...process.env }
      const consumers = new Map((args.inventory.inv.queues ?? []).map((lambda) => [lambda.name, lambda]))
      const mappings = queues.map(
        (queue) =>
          new EventSourceMapping({
            client,
            queue,
            queueUrl: queueUrl(address, localQueueNames(queue).queue),
            queueArn: queueArn(address, localQueueNames(queue).queue),
            region: address.region,
            environment: () => {
              const lambda = consumers.get(queue.name)
              if (!lambda) throw new Error(`@queues ${queue.name} has no consumer function`)
              return consumerEnvironment(lambda, args.invoke, lambdaEnv, printMetrics)
            },
            log,
            uuid: localMappingUuid(appName(args), queue.name),
            functionName: queueLogicalIds(queue.name).lambda,
          }),
      )
      for (const mapping of mappings) {
        lambdaApi.register(mapping)
        mapping.start()
      }
      running = { server, mappings, client, restoreEventBus }
    },

    async end() {
      if (!running) return
      const { server, mappings, client, restoreEventBus } = running
      running = undefined
      restoreEventBus()
      await Promise.all(mappings.map((mapping) => mapping.stop()))
      client.destroy()
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
