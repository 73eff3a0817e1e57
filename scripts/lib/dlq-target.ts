import { dirname, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs'
import { dlqName, localQueueAddress, queueArn, queueUrl } from 'arc-plugin-sqs-queues/local-queues'
import { queueLogicalIds, stackName as deployedStackName } from 'arc-plugin-sqs-queues/names'
import type { DeployedEnv } from './command-line.ts'
import { localClientConfig } from '../../src/lib/adapters/local-client.ts'

/**
 * Where the DLQ tool works: a queue and its DLQ, local or deployed. Only this
 * resolution differs between the two; every operation after it is shared.
 */
export interface QueueRef {
  name: string
  url: string
  arn: string
}

export interface DlqTarget {
  sqs: SQSClient
  queue: QueueRef
  dlq: QueueRef
  /** For messages: "the local SQS server at http://127.0.0.1:9324" or the stack. */
  where: string
  local: boolean
}

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..')

/** The queues `npm start` runs (ARC_SQS_PORT), named as local-queues.ts names them. */
export function localTarget(queueName: string, env: NodeJS.ProcessEnv = process.env): DlqTarget {
  const address = localQueueAddress(env)
  const ref = (name: string): QueueRef => ({ name, url: queueUrl(address, name), arn: queueArn(address, name) })
  return {
    sqs: new SQSClient(localClientConfig(address.endpoint, address.region)),
    queue: ref(queueName),
    dlq: ref(dlqName(queueName)),
    where: `the local SQS server at ${address.endpoint}`,
    local: true,
  }
}

/** `arc deploy --staging` names its stack `<App><Env>`, e.g. QueueLevelingStaging. */
export const stackName = (app: string, env: DeployedEnv): string => deployedStackName(app, env)

export async function appName(): Promise<string> {
  const { default: inventory } = await import('@architect/inventory')
  const { inv } = await inventory({ cwd: ROOT })
  // types/architect.d.ts declares only the slice of the inventory that other scripts read.
  return (inv as unknown as { app: string }).app
}

/**
 * The deployed queues, from the stack `arc deploy` made: the PhysicalResourceId
 * of an AWS::SQS::Queue is its URL. Region and credentials come from the
 * environment, as for any AWS SDK client.
 */
export async function deployedTarget(queueName: string, env: DeployedEnv): Promise<DlqTarget> {
  const { CloudFormationClient, DescribeStackResourceCommand } = await import('@aws-sdk/client-cloudformation')
  const stack = stackName(await appName(), env)
  const sqs = new SQSClient({})
  const region = await sqs.config.region().catch(() => undefined)
  if (!region) throw new Error('No AWS region: set AWS_REGION, or a region for your AWS profile')
  const cloudformation = new CloudFormationClient({ region })
  const resolveQueue = async (logicalId: string): Promise<QueueRef> => {
    const { StackResourceDetail } = await cloudformation.send(new DescribeStackResourceCommand({ StackName: stack, LogicalResourceId: logicalId }))
    const url = StackResourceDetail?.PhysicalResourceId
    if (!url) throw new Error(`Stack ${stack} has no ${logicalId} yet: is it deployed?`)
    const { Attributes } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['QueueArn'] }))
    if (!Attributes?.QueueArn) throw new Error(`SQS gave no QueueArn for ${url}`)
    return { name: url.slice(url.lastIndexOf('/') + 1), url, arn: Attributes.QueueArn }
  }
  const ids = queueLogicalIds(queueName)
  try {
    const [queue, dlq] = await Promise.all([resolveQueue(ids.queue), resolveQueue(ids.dlq)])
    return { sqs, queue, dlq, where: `stack ${stack} in ${region}`, local: false }
  } finally {
    cloudformation.destroy()
  }
}
