import { dirname, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { DynamoDBClient } from '@aws-sdk/client-dynamodb'
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb'
import { toLogicalId } from 'arc-plugin-sqs-queues/names'
import type { DeployedEnv } from './command-line.ts'
import { appName, stackName } from './dlq-target.ts'
import { localClientConfig } from '../../src/lib/adapters/local-client.ts'

/**
 * Where an operator's table tool works (`npm run outbox`, `npm run
 * migrate-owner`): the app's @tables, local or deployed. Only this resolution
 * differs between the two; every read and write after it is shared.
 */
export interface TablesTarget<Table extends string> {
  db: DynamoDBDocumentClient
  /** Physical names, by @tables name. */
  tables: Record<Table, string>
  /** For messages: "the local tables at http://127.0.0.1:5555" or the stack. */
  where: string
  local: boolean
}

const documents = (client: DynamoDBClient): DynamoDBDocumentClient => DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } })

/** The tables `npm start` runs (ARC_TABLES_PORT), named as the sandbox names them. */
export async function localTablesTarget<Table extends string>(names: readonly Table[], env: NodeJS.ProcessEnv = process.env): Promise<TablesTarget<Table>> {
  const endpoint = `http://127.0.0.1:${env.ARC_TABLES_PORT || 5555}`
  const client = new DynamoDBClient(localClientConfig(endpoint, env.AWS_REGION || 'us-east-1'))
  const app = await appName()
  const tables = Object.fromEntries(names.map((name) => [name, `${app}-staging-${name}`])) as Record<Table, string>
  return { db: documents(client), tables, where: `the local tables at ${endpoint}`, local: true }
}

/**
 * The deployed tables, from the stack `arc deploy` made (`<Name>Table`, e.g.
 * TasksTable): the PhysicalResourceId of an AWS::DynamoDB::Table is its name.
 * Region and credentials come from the environment, as for any AWS SDK client.
 */
export async function deployedTablesTarget<Table extends string>(names: readonly Table[], env: DeployedEnv): Promise<TablesTarget<Table>> {
  const { CloudFormationClient, DescribeStackResourceCommand } = await import('@aws-sdk/client-cloudformation')
  const stack = stackName(await appName(), env)
  const client = new DynamoDBClient({})
  const region = await client.config.region().catch(() => undefined)
  if (!region) throw new Error('No AWS region: set AWS_REGION, or a region for your AWS profile')
  const cloudformation = new CloudFormationClient({ region })
  const physicalName = async (name: Table): Promise<[Table, string]> => {
    const logicalId = `${toLogicalId(name)}Table`
    const { StackResourceDetail } = await cloudformation.send(new DescribeStackResourceCommand({ StackName: stack, LogicalResourceId: logicalId }))
    const table = StackResourceDetail?.PhysicalResourceId
    if (!table) throw new Error(`Stack ${stack} has no ${logicalId} yet: is it deployed?`)
    return [name, table]
  }
  try {
    const tables = Object.fromEntries(await Promise.all(names.map(physicalName))) as Record<Table, string>
    return { db: documents(client), tables, where: `stack ${stack} in ${region}`, local: false }
  } catch (error) {
    client.destroy()
    throw error
  } finally {
    cloudformation.destroy()
  }
}

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..')

/** The runtime settings `npm start` gives the local functions: this environment over Architect's `.env` (as scripts/sandbox.ts merges them). */
export async function localStageSettings(env: NodeJS.ProcessEnv = process.env): Promise<NodeJS.ProcessEnv> {
  const { default: inventory } = await import('@architect/inventory')
  const { inv } = await inventory({ cwd: ROOT })
  return { ...(inv._project.env.local?.testing ?? {}), ...env }
}

/**
 * One runtime setting of a deployed stage, where `npx arc env -e <stage>`
 * keeps it (an SSM SecureString `/<app>/<stage>/<NAME>`, which a deploy
 * copies into every function); undefined when it is not set.
 */
export async function deployedStageSetting(env: DeployedEnv, name: string): Promise<string | undefined> {
  const { GetParameterCommand, ParameterNotFound, SSMClient } = await import('@aws-sdk/client-ssm')
  const ssm = new SSMClient({})
  try {
    const { Parameter } = await ssm.send(new GetParameterCommand({ Name: `/${await appName()}/${env}/${name}`, WithDecryption: true }))
    return Parameter?.Value
  } catch (error) {
    if (error instanceof ParameterNotFound) return undefined
    throw error
  } finally {
    ssm.destroy()
  }
}

const CONNECTION_ERRORS = new Set(['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'EHOSTUNREACH', 'ETIMEDOUT'])

/** One line an operator can act on, instead of a stack trace; `tables` names the tables the tool needs. */
export function explainTableError(error: unknown, target: Pick<TablesTarget<string>, 'where' | 'local'> | undefined, tables: string): string {
  if (!(error instanceof Error)) return String(error)
  const code = (error as NodeJS.ErrnoException).code
  if (code && CONNECTION_ERRORS.has(code)) return `Cannot reach ${target?.where ?? 'AWS'} (${code})${target?.local ? ': is npm start running?' : ''}`
  if (error.name === 'ResourceNotFoundException') return `No table ${tables} on ${target?.where ?? 'DynamoDB'}: is that app running?`
  return error.name === 'Error' ? error.message : `${error.name}: ${error.message}`
}
