import { existsSync } from 'node:fs'
import { mkdir, rm, symlink } from 'node:fs/promises'
import { dirname, join, relative } from 'node:path'
import type { Inventory } from '@architect/inventory'
import typescript from '@architect/plugin-typescript'
import { HANDLERS_BUILD_VARIABLE } from './handler-build.ts'

/**
 * A test-only Architect plugin in @architect/plugin-typescript's place (see
 * handler-build.ts): the same `typescript` runtime, set by plugin-typescript's
 * own code, and at sandbox start each handler's build folder is a link to the
 * shared bundles instead of an esbuild run. Node follows the link to the
 * bundle's real path, so the bundles and their V8 code cache are shared too.
 */
export default {
  set: { runtimes: typescript.set.runtimes },
  sandbox: {
    async start({ inventory }: { inventory: Inventory }): Promise<void> {
      const prebuilt = process.env[HANDLERS_BUILD_VARIABLE]
      const buildRoot = inventory.inv._project.build
      if (!prebuilt || !buildRoot) throw new Error(`prebuilt-typescript needs ${HANDLERS_BUILD_VARIABLE} (the shared build) and the project's build folder`)
      for (const lambda of Object.values(inventory.inv.lambdasBySrcDir)) {
        if (lambda.config.runtime !== 'typescript' || !lambda.build) continue
        const bundle = join(prebuilt, relative(buildRoot, lambda.build))
        if (!existsSync(join(bundle, 'index.js'))) throw new Error(`No prebuilt bundle for ${lambda.src} in ${prebuilt}: the build is older than the handler`)
        await mkdir(dirname(lambda.build), { recursive: true })
        await rm(lambda.build, { recursive: true, force: true })
        await symlink(bundle, lambda.build, 'dir')
      }
    },
  },
}
