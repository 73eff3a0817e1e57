/**
 * Where the consumer's webhook signing secret lives on a deployed stage: an
 * SSM SecureString the operator creates (CloudFormation cannot create one), so
 * the stack names it and never holds its value. The consumer alone learns the
 * name (NOTIFY_WEBHOOK_SECRET_PARAMETER) and alone may read it (roles.ts).
 */
import type { CfnValue } from '../sqs-queues/template.ts'
import { DeploySettingsError } from './deploy-settings.ts'

/** The setting that tells the consumer which parameter to read (src/lib/config.ts). */
export const WEBHOOK_SECRET_VARIABLE = 'NOTIFY_WEBHOOK_SECRET_PARAMETER'

/**
 * The default name. It stays out of the two paths Architect reads on its own:
 * `/<app>/...`, where `npx arc env` keeps its values and from which every
 * deploy copies `/<app>/<stage>/<NAME>`, decrypted, into the environment of
 * every function; and `/<StackName>/...`, which every function may read
 * (@architect/functions' service discovery).
 */
export const defaultWebhookSecretParameter = (app: string): string => `/secrets/${app}/{stage}/webhook-signing-secret`

/** The stage's parameter name from the `webhookSecretParameter` setting (or the default); refuses a name Architect would expose. */
export function webhookSecretParameter(setting: string | undefined, where: { app: string; stage: string; stackName: string }): string {
  const name = (setting ?? defaultWebhookSecretParameter(where.app)).replaceAll('{stage}', where.stage)
  const top = name.split('/')[1]
  const fix = `choose another name with @queue-leveling webhookSecretParameter in app.arc (the default is ${defaultWebhookSecretParameter(where.app)})`
  if (top === where.stackName) {
    throw new DeploySettingsError(`The webhook signing secret ${name} would be under /${where.stackName}/, which every function of the stack may read (Architect's service discovery): ${fix}`)
  }
  if (top === where.app) {
    throw new DeploySettingsError(
      `The webhook signing secret ${name} would be under /${where.app}/, where npx arc env keeps its values: every deploy reads that path and copies /${where.app}/<stage>/<NAME> parameters, decrypted, into every function's environment: ${fix}`,
    )
  }
  return name
}

/** The parameter's ARN in the stack's account and region (the name's leading `/` is the ARN's separator). */
export const parameterArn = (name: string): CfnValue => ({ 'Fn::Sub': `arn:\${AWS::Partition}:ssm:\${AWS::Region}:\${AWS::AccountId}:parameter${name}` })
