import { mkdir, writeFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { dirname, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import type { CfnTemplate, Stage } from '../src/plugins/sqs-queues/template.ts'

/**
 * `npm run template -- [--stage staging|production] [--out file] [--cwd dir]`:
 * the template `arc deploy` would send to CloudFormation, built offline
 * (@architect/inventory, @architect/package, then every plugin's deploy.start),
 * with no network and no AWS account.
 */
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const require = createRequire(import.meta.url)

type DeployStart = (args: { arc: unknown; cloudformation: CfnTemplate; inventory: Inventory; stage: Stage }) => Promise<CfnTemplate | undefined>
type Inventory = { inv: { app: string; _project: { arc: Record<string, unknown> }; plugins?: { _methods?: { deploy?: { start?: DeployStart[] } } } } }
type InventoryFn = (options: { cwd: string; env: boolean; deployStage: Stage }) => Promise<Inventory>

export interface BuiltTemplate {
  template: CfnTemplate
  stage: Stage
}

/** Builds the deployable template of the Architect project in `cwd` for a stage. */
export async function buildTemplate(options: { cwd?: string; stage?: Stage } = {}): Promise<CfnTemplate> {
  const cwd = options.cwd ?? ROOT
  const stage = options.stage ?? 'staging'
  const { default: inventory } = (await import('@architect/inventory')) as unknown as { default: InventoryFn }
  const packageTemplate = require('@architect/package') as (inventory: Inventory) => CfnTemplate
  const inv = await inventory({ cwd, env: false, deployStage: stage })
  const cloudformation = packageTemplate(inv)
  // As arc deploy calls deploy.start plugins: in @plugins order, each given the template the one before returned.
  let template = cloudformation
  for (const start of inv.inv.plugins?._methods?.deploy?.start ?? []) {
    template = (await start({ arc: inv.inv._project.arc, cloudformation: template, inventory: inv, stage })) ?? template
  }
  return template
}

/** One line per resource type: `3 x AWS::SQS::Queue`. */
export function summary(template: CfnTemplate): string[] {
  const counts = new Map<string, number>()
  for (const item of Object.values(template.Resources)) counts.set(item.Type, (counts.get(item.Type) ?? 0) + 1)
  return [...counts.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([type, count]) => `${String(count).padStart(3)} x ${type}`)
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { stage: { type: 'string', default: 'staging' }, out: { type: 'string' }, cwd: { type: 'string' } },
    allowPositionals: false,
  })
  if (values.stage !== 'staging' && values.stage !== 'production') throw new Error(`--stage must be staging or production, got ${values.stage}`)
  const stage: Stage = values.stage
  const cwd = resolve(values.cwd ?? ROOT)
  const out = resolve(values.out ?? resolve(ROOT, '.tmp', `template.${stage}.json`))
  const template = await buildTemplate({ cwd, stage })
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
