/**
 * Where the consumer's webhook secrets live on a deployed stage: SSM
 * SecureStrings the operator creates (CloudFormation cannot create one), so
 * the stack names them and never holds their values. The signing secret's
 * name is a deploy setting (app.arc); a webhook URL with credentials is named
 * per stage (`npx arc env ... NOTIFY_WEBHOOK_URL_PARAMETER`). The consumer
 * alone may read either (roles.ts).
 */
import type { CfnValue } from 'arc-plugin-sqs-queues/template'
import { DeploySettingsError } from './deploy-settings.ts'

/** The setting that tells the consumer which parameter holds the signing secret (src/lib/config.ts). */
export const WEBHOOK_SECRET_VARIABLE = 'NOTIFY_WEBHOOK_SECRET_PARAMETER'
/** The setting that tells the consumer which parameter holds a webhook URL with credentials (src/lib/config.ts). */
export const WEBHOOK_URL_VARIABLE = 'NOTIFY_WEBHOOK_URL_PARAMETER'

/**
 * The default name. It stays out of the two paths Architect reads on its own:
 * `/<app>/...`, where `npx arc env` keeps its values and from which every
 * deploy copies `/<app>/<stage>/<NAME>`, decrypted, into the environment of
 * every function; and `/<StackName>/...`, which every function may read
 * (@architect/functions' service discovery).
 */
export const defaultWebhookSecretParameter = (app: string): string => `/secrets/${app}/{stage}/webhook-signing-secret`
/** The name docs/deploy.md and the deploy's refusal suggest for a webhook URL with credentials, out of the same two paths. */
export const suggestedWebhookUrlParameter = (app: string, stage: string): string => `/secrets/${app}/${stage}/webhook-url`

const ARN_PREFIX = /^arn:[^:]+:ssm:[^:]*:[^:]*:parameter(?=\/)/

/**
 * Why a parameter would be exposed by Architect itself (see
 * defaultWebhookSecretParameter), or undefined. A parameter's ARN is judged
 * by its name.
 */
export function exposedParameterReason(name: string, where: { app: string; stackName: string }): string | undefined {
  const top = name.replace(ARN_PREFIX, '').split('/')[1]
  if (top === where.stackName) return `under /${where.stackName}/, which every function of the stack may read (Architect's service discovery)`
  if (top === where.app) {
    return `under /${where.app}/, where npx arc env keeps its values: every deploy reads that path and copies /${where.app}/<stage>/<NAME> parameters, decrypted, into every function's environment`
  }
  return undefined
}

/** The stage's parameter name from the `webhookSecretParameter` setting (or the default); refuses a name Architect would expose. */
export function webhookSecretParameter(setting: string | undefined, where: { app: string; stage: string; stackName: string }): string {
  const name = (setting ?? defaultWebhookSecretParameter(where.app)).replaceAll('{stage}', where.stage)
  const exposed = exposedParameterReason(name, where)
  if (exposed) {
    throw new DeploySettingsError(
      `The webhook signing secret ${name} would be ${exposed}: choose another name with @queue-leveling webhookSecretParameter in app.arc (the default is ${defaultWebhookSecretParameter(where.app)})`,
    )
  }
  return name
}

/** The parameter's ARN in the stack's account and region (the name's leading `/` is the ARN's separator); an ARN given as the setting stays as it is. */
export const parameterArn = (name: string): CfnValue =>
  ARN_PREFIX.test(name) ? name : { 'Fn::Sub': `arn:\${AWS::Partition}:ssm:\${AWS::Region}:\${AWS::AccountId}:parameter${name}` }
