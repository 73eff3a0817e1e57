import { rmSync } from 'node:fs'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import test from 'tape'
import { buildTemplate, type BuildOptions } from '../../scripts/template.ts'
import { prepareAppCopy, type AppCopyOptions } from '../../scripts/lib/harness/index.ts'

/**
 * Copies of the app for template tests, with changed @queues keys, consumer
 * timeout or @queue-leveling lines, and the build's answer for one of them.
 */
export type FixtureOptions = Omit<AppCopyOptions, 'name'> & {
  /** The fixture's @queue-leveling section, exactly (app.arc's own is replaced). */
  pragma?: string
}

/** The TypeScript build of the handlers into .build/: slow, and the template does not change with it. */
export const SKIP_BUILD: Pick<BuildOptions, 'skipPlugins'> = { skipPlugins: ['architect/plugin-typescript'] }

const fixtures: string[] = []
let count = 0
// The unit test batches run side by side, each in a process of its own: each removes its copies when its tests are done
// (not on 'exit': tape's own exit listener, registered first in a batch, exits before later listeners run).
test.onFinish(() => {
  for (const dir of fixtures) rmSync(dir, { recursive: true, force: true })
})

/** A copy of the app under .tmp/ named `<prefix>-<pid>-<n>`, so test files running side by side never share one. */
export async function appWith(options: FixtureOptions, prefix = 'template-fixture'): Promise<string> {
  const dir = await prepareAppCopy({ ...options, name: `${prefix}-${process.pid}-${++count}` })
  fixtures.push(dir)
  if (options.pragma !== undefined) {
    const manifest = join(dir, 'app.arc')
    const section = /^@queue-leveling\n(?:(?!@)[^\n]*\n)*/m
    const original = await readFile(manifest, 'utf8')
    if (!section.test(original)) throw new Error('app.arc has no @queue-leveling section')
    await writeFile(manifest, original.replace(section, `@queue-leveling\n${options.pragma}\n\n`))
  }
  return dir
}

/** 'accepted', or the message the build stopped with. */
export async function problemOf(build: BuildOptions): Promise<string> {
  try {
    await buildTemplate({ stage: 'staging', ...build })
    return 'accepted'
  } catch (error) {
    return (error as Error).message
  }
}
