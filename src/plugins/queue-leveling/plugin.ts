import { mkdir, writeFile } from 'node:fs/promises'
import type { Server } from 'node:http'
import { join } from 'node:path'
import { hasDeliveryChannel, readConsumerSettings, readHttpSettings, SettingsError, validateSettings } from '../../lib/config.ts'
import { queueSettingsOf, type DeployArgs, type PluginArgs } from 'arc-plugin-sqs-queues'
import { queueLogicalIds, stackName as defaultStackName } from 'arc-plugin-sqs-queues/names'
import type { QueueSettings } from 'arc-plugin-sqs-queues/settings'
import { functionsOf, type CfnTemplate, type Stage } from 'arc-plugin-sqs-queues/template'
import { transformTemplate } from './cloudformation.ts'
import { DEPLOY_SETTINGS_PRAGMA, readDeploySettings } from './deploy-settings.ts'
import { startLocalDashboard, type Dashboard } from './dashboard/index.ts'
import { localIssuerDir, localIssuerPort, localIssuerSettings, localIssuerUrl, startLocalIssuer } from './local-issuer.ts'
import { checkStage, gatewayAuth, literalVariables, stageEnvironment, type Env } from './stage-settings.ts'
import { webhookSecretParameter } from './webhook-secret.ts'

/**
 * What deploy.start is given: Architect's arguments (`dryRun` for `arc deploy
 * --dry-run`, which refuses what a deploy refuses), and `offline` from
 * scripts/template.ts alone: a template built with no stage settings at hand.
 */
export interface QueueLevelingDeployArgs extends DeployArgs {
  dryRun?: boolean
  offline?: boolean
}

/** The webhook call must end inside the consumer's own timeout, or every slow call would cut the consumer off. */
function checkWebhookTimeout(env: Env, queues: QueueSettings[], where: string): void {
  const webhook = readConsumerSettings(env).webhook
  if (!webhook) return
  for (const queue of queues) {
    if (webhook.timeoutMs >= queue.consumerTimeout * 1000) {
      throw new SettingsError([`NOTIFY_WEBHOOK_TIMEOUT_MS${where}: ${webhook.timeoutMs} must be below the ${queue.name} consumer's timeout of ${queue.consumerTimeout}s`])
    }
  }
}

/** Where local Lambdas find the sandbox's DynamoDB: ARC_TABLES_PORT, else sandbox's default. */
const localTablesPort = (): number => Number(process.env.ARC_TABLES_PORT || 5555)

/** The ports sandbox settled on, as it tells its Lambdas (ARC_SANDBOX). */
function sandboxPorts(): { tables?: number } {
  try {
    return (JSON.parse(process.env.ARC_SANDBOX ?? '{}') as { ports?: { tables?: number } }).ports ?? {}
  } catch {
    return {}
  }
}

/**
 * Sandbox moves DynamoDB to another port when its own is busy, after set.env
 * has told the Lambdas where it is: refuse that rather than let every table
 * call fail.
 */
function checkTablesPort(): void {
  const tables = sandboxPorts().tables
  if (tables !== undefined && tables !== localTablesPort()) {
    throw new Error(
      `Sandbox put DynamoDB on port ${tables}, not ${localTablesPort()} where the Lambdas' AWS SDK looks for it ` +
        `(port ${localTablesPort()} is busy?): free it, or set ARC_TABLES_PORT to a free port`,
    )
  }
}

/** The plugin arguments that also carry plugin-typescript's build folder. */
type BuildArgs = PluginArgs & { inventory: { inv: { _project: { build?: string | null } } } }

/**
 * @architect/plugin-typescript bundles handlers as CommonJS into the build
 * folder, which sits inside this ESM package: mark the folder CommonJS so Node
 * loads the bundles as what they are (a deployed Lambda zip has no package.json).
 */
async function markBuildCommonJs({ inventory }: BuildArgs): Promise<void> {
  const build = inventory.inv._project.build
  if (!build) return
  await mkdir(build, { recursive: true })
  await writeFile(join(build, 'package.json'), '{ "type": "commonjs" }\n')
}

let issuer: Server | undefined
let dashboard: Dashboard | undefined

/**
 * This app's own plugin, beside the reusable sqs-queues plugin: its settings are
 * checked before anything runs, locally and on deploy; the log channel is the
 * local default; and the deployed template gets this app's resources.
 */
export default {
  set: {
    /**
     * Local Lambdas find the sandbox's tables through the AWS SDK's own
     * setting and share one V8 code cache; local runs log each notification when
     * no other channel is configured, and trust the local issuer when no other
     * issuer is configured; settings the project or the environment of `npm
     * start` give win.
     */
    env({ inventory }: PluginArgs) {
      const project = inventory.inv._project.env?.local?.testing ?? {}
      const configured = { ...project, ...process.env }
      const testing: Record<string, string> = {}
      // The AWS SDK's DynamoDB client finds the sandbox's tables here (sandbox.start checks the port held).
      if (project.AWS_ENDPOINT_URL_DYNAMODB === undefined) testing.AWS_ENDPOINT_URL_DYNAMODB = `http://127.0.0.1:${localTablesPort()}`
      // Sandbox starts a new process per invocation: V8's code cache spares each one recompiling its bundle.
      if (project.NODE_COMPILE_CACHE === undefined) testing.NODE_COMPILE_CACHE = join(inventory.inv._project.cwd, 'node_modules', '.cache', 'node-compile-cache')
      if (configured.NOTIFY_LOG === undefined && !hasDeliveryChannel(configured)) testing.NOTIFY_LOG = 'true'
      if (!configured.AUTH_ISSUER) Object.assign(testing, localIssuerSettings(localIssuerPort()))
      return { testing }
    },
  },

  sandbox: {
    /**
     * While plugins start, process.env holds what the Lambdas get: refuse a bad
     * setting or a moved tables port before the first request, mark the build
     * folder CommonJS, and serve the local issuer when the Lambdas trust it.
     */
    async start(args: BuildArgs) {
      checkTablesPort()
      await markBuildCommonJs(args)
      validateSettings(process.env)
      checkWebhookTimeout(process.env, queueSettingsOf(args), '')
      const port = localIssuerPort()
      if (process.env.AUTH_ISSUER === localIssuerUrl(port)) {
        issuer = await startLocalIssuer({ dir: localIssuerDir(args.inventory.inv._project.cwd), port })
        console.log(`[auth] Local issuer on ${localIssuerUrl(port)}; a token: npm run token -- [--sub <name>] [--scope "tasks:read tasks:write"] [--ttl 3600]`)
      }
      // The queue's live page (dashboard/), on DASHBOARD_PORT, loopback only.
      dashboard = await startLocalDashboard({ queues: queueSettingsOf(args), projectDir: args.inventory.inv._project.cwd })
      if (dashboard) console.log(`[dashboard] ${dashboard.url}: the queue, the consumer, its deliveries and the DLQ, live`)
    },

    async end() {
      const board = dashboard
      dashboard = undefined
      await board?.close()
      const server = issuer
      issuer = undefined
      if (!server) return
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  },

  deploy: {
    /**
     * Refuses, before anything is deployed, deploy settings AWS would refuse,
     * a stage whose settings (the values `npx arc env` gave it) a public
     * deploy must not have (stage-settings.ts), and an invalid setting of any
     * function; then adds this app's resources (cloudformation.ts).
     */
    async start(args: QueueLevelingDeployArgs): Promise<CfnTemplate> {
      const queues = queueSettingsOf(args)
      const settings = readDeploySettings(args.arc[DEPLOY_SETTINGS_PRAGMA] as Parameters<typeof readDeploySettings>[0])
      if (args.stage !== undefined && args.stage !== 'staging' && args.stage !== 'production') throw new Error(`Unknown deploy stage "${args.stage}": staging or production`)
      const stage: Stage = args.stage ?? 'staging'
      const app = args.inventory.inv.app
      if (!app) throw new Error('The inventory has no @app name')
      const stackName = args.stackName ?? defaultStackName(app, stage)
      const offline = args.offline === true
      const secretParameter = webhookSecretParameter(settings.webhookSecretParameter, { app, stage, stackName })
      const stageEnv = stageEnvironment(args.cloudformation)
      checkStage(stageEnv, { stage, offline, webhookSecretParameter: secretParameter, app, stackName })
      for (const [id] of functionsOf(args.cloudformation)) {
        const env = literalVariables(args.cloudformation, id)
        try {
          validateSettings(env)
        } catch (error) {
          if (error instanceof SettingsError) throw new SettingsError(error.problems.map((problem) => `${problem} (${stage}, ${id})`))
          throw error
        }
      }
      for (const queue of queues) checkWebhookTimeout(literalVariables(args.cloudformation, queueLogicalIds(queue.name).lambda), [queue], ` (${stage})`)
      return transformTemplate(args.cloudformation, {
        stage,
        queues,
        settings,
        stackName,
        auth: gatewayAuth(stageEnv, { stage, offline, warn: (message) => console.warn(`[queue-leveling] ${message}`) }),
        corsAllowOrigin: readHttpSettings(stageEnv).corsAllowOrigin,
        webhookSecretParameter: secretParameter,
      })
    },
  },
}
