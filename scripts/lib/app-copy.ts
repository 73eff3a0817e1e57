import { cp, mkdir, readFile, rm, symlink, writeFile } from 'node:fs/promises'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

/**
 * Copies of the project under .tmp/ with some `@queues notifications` keys or
 * the consumer's timeout changed: what the tests and the bench start, each
 * its own copy, so a developer's `npm start` keeps running beside them.
 */
export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..')

export interface QueueOverrides {
  batchSize?: number
  batchWindow?: number
  maxConcurrency?: number
  maxReceiveCount?: number
  visibilityTimeout?: number
  retentionDays?: number
  dlqRetentionDays?: number
}

export interface AppCopyOptions {
  /** Name of the copy under .tmp/. */
  name: string
  queue?: QueueOverrides
  /** The consumer's timeout in seconds (its config.arc). */
  consumerTimeout?: number
}

const SHARED_FILES = ['package.json', 'preferences.arc', 'tsconfig.json', 'esbuild.config.cjs', 'types']

/** app.arc with some `@queues notifications` keys replaced. */
export function withQueueKeys(manifest: string, overrides: QueueOverrides): string {
  let result = manifest
  for (const [key, value] of Object.entries(overrides)) {
    const pattern = new RegExp(`^(\\s+${key}\\s+)\\S+`, 'm')
    if (!pattern.test(result)) throw new Error(`app.arc has no @queues key ${key}`)
    result = result.replace(pattern, `$1${value}`)
  }
  return result
}

export async function prepareAppCopy(options: AppCopyOptions): Promise<string> {
  const dir = join(ROOT, '.tmp', options.name)
  await rm(dir, { recursive: true, force: true })
  await mkdir(dir, { recursive: true })
  await cp(join(ROOT, 'src'), join(dir, 'src'), { recursive: true })
  for (const file of SHARED_FILES) await cp(join(ROOT, file), join(dir, file), { recursive: true })
  await symlink(join(ROOT, 'node_modules'), join(dir, 'node_modules'), 'dir')
  const manifest = await readFile(join(ROOT, 'app.arc'), 'utf8')
  await writeFile(join(dir, 'app.arc'), withQueueKeys(manifest, options.queue ?? {}))
  if (options.consumerTimeout !== undefined) {
    await writeFile(join(dir, 'src/queues/notifications/config.arc'), `@aws\ntimeout ${options.consumerTimeout}\n`)
  }
  return dir
}
