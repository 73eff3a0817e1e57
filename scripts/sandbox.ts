import inventory from '@architect/inventory'
import sandbox from '@architect/sandbox'
import { SETTING_NAMES } from '../src/lib/config.ts'

/**
 * Starts the whole app the way `npm start` does: Architect sandbox (HTTP API,
 * DynamoDB) plus, through the queue-leveling plugin, the local SQS queues and
 * the consumer's event source mapping.
 *
 * Settings come from this process's environment and override Architect's
 * `.env`. Everything else a local Lambda needs (dummy credentials, region, the
 * local endpoints) comes from the plugins, exactly as under `npx arc sandbox`.
 */
export interface SandboxOptions {
  cwd?: string
  port?: number
  quiet?: boolean
  /** Lambda environment that wins over everything else (tests point the app at a flaky queue this way). */
  lambdaEnv?: Record<string, string>
}

/** Resolves to the Lambdas' user environment it gave sandbox (what sandbox.start's `env` option replaces .env with). */
export async function startSandbox(options: SandboxOptions = {}): Promise<Record<string, string>> {
  const cwd = options.cwd ?? process.cwd()
  // A port given explicitly is one sandbox will not move off when it is busy: the
  // plugin has told the Lambdas where the tables are (AWS_ENDPOINT_URL_DYNAMODB).
  process.env.ARC_TABLES_PORT ||= '5555'
  // Sandbox itself looks for credentials and prints its failures; its Lambdas get the plugin's dummy ones either way.
  process.env.AWS_ACCESS_KEY_ID ||= 'arcDummyAccessKey'
  process.env.AWS_SECRET_ACCESS_KEY ||= 'arcDummySecretKey'
  const { inv } = await inventory({ cwd })
  const fromArchitect = inv._project.env.local?.testing ?? {}
  const fromEnvironment = Object.fromEntries(
    SETTING_NAMES.flatMap((name) => (process.env[name] !== undefined ? [[name, process.env[name] as string]] : [])),
  )
  const env = { ...fromArchitect, ...fromEnvironment, ...options.lambdaEnv }
  await sandbox.start({ cwd, port: options.port ?? Number(process.env.PORT || 3333), quiet: options.quiet ?? false, env })
  return env
}

export async function stopSandbox(): Promise<void> {
  await sandbox.end()
}
