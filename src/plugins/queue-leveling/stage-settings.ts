/**
 * A stage's runtime settings as a deploy sees them, and what a deployed stage
 * refuses. They are set per stage in one place, `npx arc env -e <stage> -a
 * NAME value`, which Architect copies into the environment of every function
 * in the template: they are read from there.
 */
import { readAuthSettings } from '../../lib/config.ts'
import { insecureUrlReason } from '../../lib/secure-url.ts'
import { functionsOf, isObject, type CfnTemplate } from 'arc-plugin-sqs-queues/template'
import type { GatewayAuth } from './http-api.ts'
import { exposedParameterReason, suggestedWebhookUrlParameter } from './webhook-secret.ts'

export type Env = Record<string, string | undefined>

/** Marked placeholders of an offline template for a stage that has no issuer or audience yet. */
export const PLACEHOLDER_ISSUER = 'https://REPLACE-ME.example/issuer'
export const PLACEHOLDER_AUDIENCE = 'REPLACE-ME'

export class DeployRefusedError extends Error {
  override readonly name = 'DeployRefusedError'
}

/** A function's environment variables in the template that are plain values (settings), not references. */
export function literalVariables(template: CfnTemplate, id: string): Env {
  const variables = template.Resources[id]?.Properties?.Environment
  const values = isObject(variables) && isObject(variables.Variables) ? variables.Variables : {}
  return Object.fromEntries(Object.entries(values).filter((entry): entry is [string, string] => typeof entry[1] === 'string'))
}

/** The stage's `npx arc env` values: Architect gives every function the same ones (a function whose config.arc turns them off has none). */
export function stageEnvironment(template: CfnTemplate): Env {
  const withSettings = functionsOf(template).find(([id, fn]) => fn.ArcMetadata && literalVariables(template, id).ARC_DISABLE_ENV_VARS === undefined)
  return withSettings ? literalVariables(template, withSettings[0]) : {}
}

const URL_SETTINGS = ['AUTH_ISSUER', 'AUTH_JWKS_URL', 'NOTIFY_WEBHOOK_URL'] as const

/** Why a stage's URL setting may not be used on Lambda (https only, never loopback), or null; a value that is no URL is refused too. */
const lambdaUrlProblem = (value: string): string | null => {
  try {
    return insecureUrlReason(new URL(value.trim()), { onLambda: true })
  } catch {
    return 'not a URL'
  }
}

/**
 * Whether a webhook URL carries credentials, by one rule that needs no guess
 * about what a service calls its token: a user or password (`https://user:pass@host/`)
 * or any query string (`?token=...`, `?code=...`). A token in the path (e.g.
 * Slack's `/services/T0/B0/XXXX`) cannot be told from a route; docs/deploy.md
 * says to keep such a URL in SSM too.
 */
export function carriesCredentials(value: string): boolean {
  try {
    const url = new URL(value.trim())
    return url.username !== '' || url.password !== '' || url.search !== ''
  } catch {
    return false
  }
}

/**
 * What stops a deploy of `stage`, each with how to fix it; none is a value
 * (they may hold credentials). An offline build (`npm run template`) has no
 * stage settings, so a missing issuer or audience is not a problem there.
 */
export function stageProblems(env: Env, where: { stage: string; offline: boolean; webhookSecretParameter: string; app: string; stackName: string }): string[] {
  const { stage } = where
  const arcEnv = `npx arc env -e ${stage}`
  const problems: string[] = []
  const set = (name: string): boolean => Boolean(env[name]?.trim())
  if (!where.offline) {
    if (!set('AUTH_ISSUER')) {
      problems.push(`AUTH_ISSUER is not set for ${stage}: the HTTP API's JWT authorizer and every route accept only tokens of this OpenID Connect issuer. Set it: ${arcEnv} -a AUTH_ISSUER https://<issuer>`)
    }
    if (!set('AUTH_AUDIENCE')) {
      problems.push(`AUTH_AUDIENCE is not set for ${stage}: the audiences (comma-separated) a token must be for. Set it: ${arcEnv} -a AUTH_AUDIENCE <audience>`)
    }
  }
  if (env.NOTIFY_WEBHOOK_SECRET !== undefined) {
    problems.push(
      `NOTIFY_WEBHOOK_SECRET is set for ${stage} through npx arc env, which copies it in plaintext into every function's configuration and the template. ` +
        `Delete it: ${arcEnv} -r NOTIFY_WEBHOOK_SECRET; keep the secret in the SSM SecureString ${where.webhookSecretParameter} instead: ` +
        `aws ssm put-parameter --name ${where.webhookSecretParameter} --type SecureString --value <secret>`,
    )
  }
  if (env.NOTIFY_WEBHOOK_SECRET_PARAMETER !== undefined) {
    problems.push(
      `NOTIFY_WEBHOOK_SECRET_PARAMETER is set for ${stage} through npx arc env; the deploy gives it to the consumer alone, the parameter its role may read ` +
        `(${where.webhookSecretParameter}). Remove it: ${arcEnv} -r NOTIFY_WEBHOOK_SECRET_PARAMETER; another name goes in app.arc: @queue-leveling webhookSecretParameter`,
    )
  }
  const urlParameter = suggestedWebhookUrlParameter(where.app, stage)
  const webhookUrl = env.NOTIFY_WEBHOOK_URL?.trim()
  if (webhookUrl && carriesCredentials(webhookUrl)) {
    problems.push(
      `NOTIFY_WEBHOOK_URL for ${stage} carries credentials (a user or password, or a query string), and npx arc env copies it in plaintext into every function's configuration and the template. ` +
        `Keep it in an SSM SecureString that only the consumer reads: aws ssm put-parameter --name ${urlParameter} --type SecureString --value '<url>'; ` +
        `then ${arcEnv} -r NOTIFY_WEBHOOK_URL and ${arcEnv} -a NOTIFY_WEBHOOK_URL_PARAMETER ${urlParameter}`,
    )
  }
  const webhookUrlParameter = env.NOTIFY_WEBHOOK_URL_PARAMETER?.trim()
  const exposed = webhookUrlParameter ? exposedParameterReason(webhookUrlParameter, where) : undefined
  if (exposed) {
    problems.push(`NOTIFY_WEBHOOK_URL_PARAMETER for ${stage} names a parameter ${exposed}: put the URL under another name, e.g. ${urlParameter}, and ${arcEnv} -a NOTIFY_WEBHOOK_URL_PARAMETER ${urlParameter}`)
  }
  for (const name of URL_SETTINGS) {
    const problem = set(name) ? lambdaUrlProblem(env[name]!) : null
    if (problem) {
      problems.push(`${name} must be an https URL of another host on a deployed stage (${problem}): ${arcEnv} -a ${name} https://...`)
    }
  }
  return problems
}

/** Refuses the deploy with every problem of the stage. */
export function checkStage(env: Env, where: Parameters<typeof stageProblems>[1]): void {
  const problems = stageProblems(env, where)
  if (problems.length) throw new DeployRefusedError(`Refusing to deploy ${where.stage}:\n- ${problems.join('\n- ')}`)
}

/**
 * The gateway's issuer, audiences and scopes, read as the Lambdas read them
 * (the same defaults). Offline, a missing issuer or audience becomes a marked
 * placeholder, and `warn` says so.
 */
export function gatewayAuth(env: Env, where: { stage: string; offline: boolean; warn: (message: string) => void }): GatewayAuth {
  const settings = readAuthSettings(env)
  let issuer = settings.issuer
  let audiences = settings.audiences
  if (where.offline && (!issuer || audiences.length === 0)) {
    issuer ??= PLACEHOLDER_ISSUER
    if (audiences.length === 0) audiences = [PLACEHOLDER_AUDIENCE]
    where.warn(
      `${where.stage} has no AUTH_ISSUER or AUTH_AUDIENCE here: the template's JWT authorizer holds placeholders (${issuer}, ${audiences.join(', ')}). ` +
        `Give them with npm run template -- --issuer <url> --audience <audience>; a deploy refuses until npx arc env -e ${where.stage} -a AUTH_ISSUER ... sets them`,
    )
  }
  if (!issuer || audiences.length === 0) throw new DeployRefusedError(`${where.stage} has no AUTH_ISSUER or AUTH_AUDIENCE`)
  return { issuer, audiences, scopes: settings.scopes }
}
