import { parseArgs, type ParseArgsConfig } from 'node:util'
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb'
import { paginateScan } from '@aws-sdk/lib-dynamodb'
import { DEPLOYED_ENVS, type DeployedEnv, UsageError } from './command-line.ts'
import { deployedTablesTarget, explainTableError, localTablesTarget, type TablesTarget } from './tables-target.ts'

/**
 * What every one-off data migration shares (`npm run migrate-owner`, `npm run
 * migrate-deliveries`): `[--env staging|production] [--dry-run]`, the local or
 * deployed tables, a scan for the items still to change, writes that are each
 * conditional (so a second run, or the app writing meanwhile, is never undone)
 * and a report of counts. Exit codes: 0 done, 1 failed, 2 bad command line.
 */
export interface MigrationArgs {
  /** Absent: the local tables of `npm start`. */
  env?: DeployedEnv
  /** Count what would change, write nothing. */
  dryRun: boolean
}

type Options = NonNullable<ParseArgsConfig['options']>
const COMMON = { env: { type: 'string' }, 'dry-run': { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h', default: false } } as const
type Config<O extends Options> = { args: string[]; options: O & typeof COMMON; allowPositionals: false; strict: true }
type Values<O extends Options> = ReturnType<typeof parseArgs<Config<O>>>['values']

const isDeployedEnv = (value: string): value is DeployedEnv => (DEPLOYED_ENVS as readonly string[]).includes(value)

/** A migration's command line: its own `options` beside the common ones; 'help', or the values. */
export function parseMigrationArgs<O extends Options>(argv: string[], options: O): 'help' | (MigrationArgs & { values: Values<O> }) {
  let values: Values<O>
  try {
    values = parseArgs<Config<O>>({ args: argv, strict: true, allowPositionals: false, options: { ...options, ...COMMON } }).values
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error))
  }
  const common = values as { env?: string; 'dry-run'?: boolean; help?: boolean }
  if (common.help) return 'help'
  if (common.env !== undefined && !isDeployedEnv(common.env)) throw new UsageError(`--env must be staging or production, got "${common.env}"`)
  return { ...(common.env !== undefined && { env: common.env }), dryRun: common['dry-run'] === true, values }
}

/** True when it wrote; false when its condition no longer held. */
export async function conditional(write: () => Promise<unknown>): Promise<boolean> {
  try {
    await write()
    return true
  } catch (error) {
    if (error instanceof ConditionalCheckFailedException) return false
    throw error
  }
}

/** The items of a table that lack an attribute, as a one-off may find them: a scan of the whole table (the app itself never scans). */
export async function* itemsWithout(target: TablesTarget<string>, table: string, missing: string, attributes: string[]): AsyncGenerator<Record<string, unknown>> {
  const names = Object.fromEntries([...attributes, missing].map((name) => [`#${name}`, name]))
  const pages = paginateScan(
    { client: target.db },
    { TableName: table, ConsistentRead: true, FilterExpression: `attribute_not_exists(#${missing})`, ProjectionExpression: attributes.map((name) => `#${name}`).join(', '), ExpressionAttributeNames: names },
  )
  for await (const page of pages) yield* page.Items ?? []
}

export interface MigrationTool<Args extends MigrationArgs, Table extends string> {
  usage: string
  tables: readonly Table[]
  parse(argv: string[]): Args | 'help'
  /** Does (or, dry, counts) the migration; returns the report to print. */
  run(target: TablesTarget<Table>, args: Args): Promise<string>
}

/** A migration's command: its command line, its tables, its run, its one line on a failure. */
export async function runMigrationTool<Args extends MigrationArgs, Table extends string>(tool: MigrationTool<Args, Table>, argv: string[] = process.argv.slice(2)): Promise<void> {
  let args: Args | 'help'
  try {
    args = tool.parse(argv)
  } catch (error) {
    if (!(error instanceof UsageError)) throw error
    console.error(`${error.message}\n\n${tool.usage}`)
    process.exitCode = 2
    return
  }
  if (args === 'help') {
    console.log(tool.usage)
    return
  }
  let target: TablesTarget<Table> | undefined
  try {
    target = args.env ? await deployedTablesTarget(tool.tables, args.env) : await localTablesTarget(tool.tables)
    console.log(await tool.run(target, args))
  } catch (error) {
    console.error(explainTableError(error, target, target ? Object.values<string>(target.tables).join(' or ') : tool.tables.join(' or ')))
    process.exitCode = 1
  } finally {
    target?.db.destroy()
  }
}

export const plural = (count: number, noun: string): string => `${count} ${noun}${count === 1 ? '' : 's'}`
