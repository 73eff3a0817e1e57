import { parseArgs, type ParseArgsConfig } from 'node:util'

/** Where an operations tool works: the local run, or a deployed stage. */
export const DEPLOYED_ENVS = ['staging', 'production'] as const
export type DeployedEnv = (typeof DEPLOYED_ENVS)[number]

/** A command line the tool cannot act on; its message says why, the tool prints its usage. */
export class UsageError extends Error {
  override readonly name = 'UsageError'
}

const isOneOf = <T extends string>(values: readonly T[], value: string): value is T => (values as readonly string[]).includes(value)

type Options = NonNullable<ParseArgsConfig['options']>

/** The options every tool has. */
const COMMON = { env: { type: 'string' }, help: { type: 'boolean', short: 'h', default: false } } as const

type Config<O extends Options> = { args: string[]; options: O & typeof COMMON; allowPositionals: true; strict: true }
type Values<O extends Options> = ReturnType<typeof parseArgs<Config<O>>>['values']

/**
 * The shape every operations tool (`npm run dlq`, `npm run outbox`) shares:
 * `<command> [--env staging|production] [-h|--help] [options]`. Returns 'help',
 * or the command, the deployed stage if any, and the option values.
 */
export function parseCommandLine<Command extends string, O extends Options>(
  argv: string[],
  commands: readonly Command[],
  options: O,
): 'help' | { command: Command; env: DeployedEnv | undefined; values: Values<O> } {
  let parsed
  try {
    parsed = parseArgs<Config<O>>({ args: argv, allowPositionals: true, strict: true, options: { ...options, ...COMMON } })
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error))
  }
  const { values, positionals } = parsed
  const common = values as { help?: boolean; env?: string }
  if (common.help) return 'help'
  const [command, ...extra] = positionals
  if (command === undefined) throw new UsageError('Missing command')
  if (!isOneOf(commands, command)) throw new UsageError(`Unknown command "${command}"`)
  if (extra.length) throw new UsageError(`Unexpected argument "${extra[0]}"`)
  if (common.env !== undefined && !isOneOf(DEPLOYED_ENVS, common.env)) throw new UsageError(`--env must be staging or production, got "${common.env}"`)
  return { command, env: common.env, values }
}
