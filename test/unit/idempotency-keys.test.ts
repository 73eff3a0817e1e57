import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import test from 'tape'
import { buildTemplate } from '../../scripts/template.ts'
import { queueLogicalIds, stackName } from 'arc-plugin-sqs-queues/names'
import { isObject, type CfnValue } from 'arc-plugin-sqs-queues/template'
import { localServer } from '../helpers/local-server.ts'
import { SKIP_BUILD } from '../helpers/template-fixture.ts'

/**
 * The IAM condition on the idempotency table (`dynamodb:LeadingKeys`, the
 * function's own name and `#`) against the key the app's code really writes:
 * each function's claim is made by the app's own modules in a process set up
 * as Lambda sets one up (AWS_LAMBDA_FUNCTION_NAME is the template's
 * FunctionName), against a stand-in DynamoDB that records the PutItem.
 * Powertools derives the prefix from that variable, so a change of the
 * prefix (a keyPrefix option, a function name) that the template does not
 * follow fails here.
 */
const STACK = stackName('queue-leveling', 'staging')
const FUNCTIONS = { create: 'PostTasksHTTPLambda', delivery: queueLogicalIds('notifications').lambda } as const
const WRITER = fileURLToPath(new URL('../helpers/idempotency-key-writer.ts', import.meta.url))
const TABLE = 'QueueLevelingStaging-IdempotencyTable-TEST'

const template = await buildTemplate({ stage: 'staging', ...SKIP_BUILD })
/** A template string with the stack's pseudo parameter filled in, as CloudFormation fills it. */
const resolved = (value: CfnValue | undefined): string => {
  const text = typeof value === 'string' ? value : isObject(value) && typeof value['Fn::Sub'] === 'string' ? value['Fn::Sub'] : undefined
  if (text === undefined) throw new Error(`not a string or Fn::Sub: ${JSON.stringify(value)}`)
  return text.replaceAll('${AWS::StackName}', STACK)
}
/** The LeadingKeys patterns of a function's statements on the idempotency table. */
function leadingKeyPatterns(functionId: string): string[] {
  const roleId = (template.Resources[functionId]!.Properties!.Role as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0]
  const policies = template.Resources[roleId]!.Properties!.Policies as { PolicyDocument: { Statement: { Resource: CfnValue; Condition?: Record<string, Record<string, CfnValue[]>> }[] } }[]
  return policies
    .flatMap((policy) => policy.PolicyDocument.Statement)
    .filter((statement) => JSON.stringify(statement.Resource) === JSON.stringify({ 'Fn::GetAtt': ['IdempotencyTable', 'Arn'] }))
    .flatMap((statement) => (statement.Condition?.['ForAllValues:StringLike']?.['dynamodb:LeadingKeys'] ?? []).map(resolved))
}
/** IAM's StringLike: `*` any run of characters, `?` any one. */
const likeToRegExp = (pattern: string): RegExp => new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replaceAll('*', '.*').replaceAll('?', '.')}$`)

/** Runs the writer for one function, named as the template names it; answers the keys its PutItem calls wrote. */
async function keysWrittenBy(which: keyof typeof FUNCTIONS): Promise<string[]> {
  const keys: string[] = []
  // Architect's table discovery (an SSM GetParametersByPath in the sandbox's shape) and DynamoDB's JSON protocol.
  const discovery = await localServer((_request, response) => {
    response.writeHead(200, { 'Content-Type': 'application/x-amz-json-1.1' }).end(JSON.stringify({ Parameters: [{ Name: `/${STACK}/tables/idempotency`, Value: TABLE }] }))
  })
  const dynamo = await localServer((request, response) => {
    const target = String(request.headers['x-amz-target'])
    const input = JSON.parse(request.body || '{}') as { TableName?: string; Item?: { id?: { S?: string } } }
    if (target.endsWith('.PutItem') && input.TableName === TABLE && input.Item?.id?.S) keys.push(input.Item.id.S)
    response.writeHead(200, { 'Content-Type': 'application/x-amz-json-1.0' }).end('{}')
  })
  try {
    const port = (server: { origin: string }) => Number(new URL(server.origin).port)
    const env = {
      PATH: process.env.PATH,
      AWS_LAMBDA_FUNCTION_NAME: resolved(template.Resources[FUNCTIONS[which]]!.Properties!.FunctionName),
      ARC_ENV: 'testing',
      ARC_APP_NAME: 'queue-leveling',
      ARC_SANDBOX: JSON.stringify({ version: '9.0.0', ports: { _arc: port(discovery), tables: port(dynamo) } }),
      AWS_ENDPOINT_URL_DYNAMODB: dynamo.origin,
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'test',
      AWS_SECRET_ACCESS_KEY: 'test',
      POWERTOOLS_LOG_LEVEL: 'ERROR',
    }
    const child = spawn(process.execPath, [WRITER, which], { env, stdio: ['ignore', 'ignore', 'pipe'] })
    let stderr = ''
    child.stderr.on('data', (chunk: Buffer) => void (stderr += chunk.toString()))
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve))
    if (code !== 0) throw new Error(`the ${which} writer exited ${code}: ${stderr}`)
    return keys
  } finally {
    await Promise.all([discovery.close(), dynamo.close()])
  }
}

test("the key each function's code writes is one its own IAM condition allows, and the other function's does not", async (t) => {
  const [createKeys, deliveryKeys] = await Promise.all([keysWrittenBy('create'), keysWrittenBy('delivery')])
  const written = { create: createKeys, delivery: deliveryKeys }
  for (const which of ['create', 'delivery'] as const) {
    const keys = written[which]
    const own = leadingKeyPatterns(FUNCTIONS[which])
    t.equal(keys.length, 1, `${which}: one record claimed (${keys.join(', ')})`)
    t.ok(own.length > 0, `${which}: its role has LeadingKeys patterns (${own.join(', ')})`)
    t.ok(keys.every((key) => own.every((pattern) => likeToRegExp(pattern).test(key))), `${which}: ${keys[0]} matches ${own.join(', ')}`)
    const other = leadingKeyPatterns(FUNCTIONS[which === 'create' ? 'delivery' : 'create'])
    t.ok(keys.every((key) => other.every((pattern) => !likeToRegExp(pattern).test(key))), `${which}: the other function's condition does not allow it`)
  }
})
