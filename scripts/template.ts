import { mkdir, writeFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { dirname, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import type { CfnTemplate, Stage } from 'arc-plugin-sqs-queues/template'

/**
 * `npm run template -- [--stage staging|production] [--issuer <url> --audience <aud>] [--out file] [--cwd dir]`:
 * the template `arc deploy` would send to CloudFormation, built offline
 * (@architect/inventory, @architect/package, then every plugin's deploy.start),
 * with no network and no AWS account. The stage's `npx arc env` values live in
 * the account, out of reach here: `--issuer` and `--audience` stand in for its
 * AUTH_ISSUER and AUTH_AUDIENCE; without them the JWT authorizer holds marked
 * placeholders (a warning says so), where a real deploy refuses.
 */
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const require = createRequire(import.meta.url)

type DeployStart = ((args: { arc: unknown; cloudformation: CfnTemplate; inventory: Inventory; stage: Stage; offline: boolean }) => Promise<CfnTemplate | undefined>) & { _plugin?: string }
type Inventory = {
  inv: {
    app: string
    _project: { arc: Record<string, unknown>; env: { aws: Record<string, Record<string, string> | null> | null } }
    plugins?: { _methods?: { deploy?: { start?: DeployStart[] } } }
  }
}
type InventoryFn = (options: { cwd: string; env: boolean; deployStage: Stage }) => Promise<Inventory>

export interface BuiltTemplate {
  template: CfnTemplate
  stage: Stage
}

export interface BuildOptions {
  cwd?: string
  stage?: Stage
  /** The stage's `npx arc env` values, which arc deploy reads from the account and Architect copies into every function. */
  env?: Record<string, string>
  /** True (the default): tells the plugins this is the offline build, not a deploy; false builds as `arc deploy` would, refusals included. */
  offline?: boolean
  /**
   * deploy.start plugins not to run, by their @plugins name: tests skip
   * `architect/plugin-typescript`, whose build of the handlers into .build/
   * leaves the template as it is.
   */
  skipPlugins?: string[]
}

/** Builds the deployable template of the Architect project in `cwd` for a stage. */
export async function buildTemplate(options: BuildOptions = {}): Promise<CfnTemplate> {
  const cwd = options.cwd ?? ROOT
  const stage = options.stage ?? 'staging'
  const { default: inventory } = (await import('@architect/inventory')) as unknown as { default: InventoryFn }
  const packageTemplate = require('@architect/package') as (inventory: Inventory) => CfnTemplate
  const inv = await inventory({ cwd, env: false, deployStage: stage })
  // Where arc deploy's inventory puts what it read from SSM, for @architect/package to copy into each function.
  if (options.env) inv.inv._project.env.aws = { ...inv.inv._project.env.aws, [stage]: options.env }
  const cloudformation = packageTemplate(inv)
  // As arc deploy calls deploy.start plugins: in @plugins order, each given the template the one before returned.
  let template = cloudformation
  const offline = options.offline ?? true
  for (const start of inv.inv.plugins?._methods?.deploy?.start ?? []) {
    if (options.skipPlugins?.includes(start._plugin ?? '')) continue
    template = (await start({ arc: inv.inv._project.arc, cloudformation: template, inventory: inv, stage, offline })) ?? template
  }
  return template
}

/** One line per resource type: `3 x AWS::SQS::Queue`. */
export function summary(template: CfnTemplate): string[] {
  const counts = new Map<string, number>()
  for (const item of Object.values(template.Resources)) counts.set(item.Type, (counts.get(item.Type) ?? 0) + 1)
  return [...counts.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([type, count]) => `${String(count).padStart(3)} x ${type}`)
}

/** The command line: where to build, for which stage, and what stands in for the stage's issuer and audience. */
export function templateArgs(args: string[]): { cwd: string; stage: Stage; out: string; env: Record<string, string> } {
  const { values } = parseArgs({
    args,
    options: {
      stage: { type: 'string', default: 'staging' },
      issuer: { type: 'string' },
      audience: { type: 'string' },
      out: { type: 'string' },
      cwd: { type: 'string' },
    },
    allowPositionals: false,
  })
  if (values.stage !== 'staging' && values.stage !== 'production') throw new Error(`--stage must be staging or production, got ${values.stage}`)
  const stage: Stage = values.stage
  const env: Record<string, string> = {}
  if (values.issuer !== undefined) env.AUTH_ISSUER = values.issuer
  if (values.audience !== undefined) env.AUTH_AUDIENCE = values.audience
  return { cwd: resolve(values.cwd ?? ROOT), stage, out: resolve(values.out ?? resolve(ROOT, '.tmp', `template.${stage}.json`)), env }
}

async function main(): Promise<void> {
  const { cwd, stage, out, env } = templateArgs(process.argv.slice(2))
  const template = await buildTemplate({ cwd, stage, env })
  await mkdir(dirname(out), { recursive: true })
  await writeFile(out, `${JSON.stringify(template, null, 2)}\n`)
  console.log(`Wrote ${relative(process.cwd(), out) || out} (${stage}): ${Object.keys(template.Resources).length} resources`)
  for (const line of summary(template)) console.log(line)
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : error)
    process.exit(1)
  })
}
