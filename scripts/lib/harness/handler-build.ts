import { existsSync, rmSync } from 'node:fs'
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises'
import { createRequire, type Module } from 'node:module'
import { dirname, join, relative } from 'node:path'
import inventory, { type Inventory } from '@architect/inventory'
import type { BuildOptions } from 'esbuild'
import { prepareAppCopy, ROOT } from '../app-copy.ts'

/**
 * The handlers' bundles, built once and shared by every app the harness starts.
 *
 * Each sandbox start runs @architect/plugin-typescript's esbuild of every
 * handler (seconds of CPU each time), though the bundles depend only on `src/`
 * and the build settings, never on an app copy's @queues keys or settings.
 * So the build runs once, on a copy of the project, with the esbuild options
 * plugin-typescript's own code gives each handler, in one esbuild run for all
 * of them (`buildTogether`), and the app copies get the `prebuilt-typescript`
 * plugin in its place: the same runtime, with each handler's build folder
 * linked to the shared bundles. `npm test` builds once per run and names the
 * folder in HANDLERS_BUILD_VARIABLE; a test file run by hand builds once per
 * process. test/arc-sandbox.test.ts keeps the real plugin (`npx arc sandbox`
 * and `npm start` build as users' do).
 */
export const HANDLERS_BUILD_VARIABLE = 'TEST_HANDLERS_BUILD'

/** The plugin that takes plugin-typescript's place in an app copy's app.arc. */
export const PREBUILT_PLUGIN = join(import.meta.dirname, 'prebuilt-typescript.ts')

/** Where the handlers' bundles of a project are, and whether each is there. */
function missingBundles(inv: Inventory, buildRoot: string, prebuilt: string): string[] {
  return Object.values(inv.inv.lambdasBySrcDir)
    .filter((lambda) => lambda.config.runtime === 'typescript' && lambda.build)
    .map((lambda) => join(prebuilt, relative(buildRoot, lambda.handlerFile)))
    .filter((file) => !existsSync(file))
}

interface Esbuild {
  build(options: BuildOptions): Promise<unknown>
  stop(): void
}

/** plugin-typescript's modules, and the esbuild it uses. */
const fromPluginTypescript = createRequire(createRequire(import.meta.url).resolve('@architect/plugin-typescript'))

/**
 * The esbuild options plugin-typescript gives each handler (its entry, its
 * outfile, the project's esbuild config, the sourcemap and its banner, the
 * tsconfig), made by plugin-typescript's own `compileHandler` with the build
 * itself left out: its compile module is loaded once more with a stand-in for
 * esbuild that keeps the options (and is then forgotten again).
 */
async function pluginBuildOptions(built: Inventory): Promise<BuildOptions[]> {
  const compilePath = fromPluginTypescript.resolve('./_compile')
  const esbuildPath = fromPluginTypescript.resolve('esbuild')
  const cache = createRequire(import.meta.url).cache
  const esbuild = fromPluginTypescript('esbuild') as Esbuild
  const loaded = { compile: cache[compilePath], esbuild: cache[esbuildPath] as Module }
  const collected: BuildOptions[] = []
  cache[esbuildPath] = { ...loaded.esbuild, exports: { ...esbuild, build: async (options: BuildOptions) => void collected.push(options) } } as Module
  delete cache[compilePath]
  try {
    const { compileHandler, getTsConfig } = fromPluginTypescript(compilePath) as {
      compileHandler(params: { inventory: Inventory; lambda: Inventory['inv']['lambdasBySrcDir'][string]; globalTsConfig: string | false }): Promise<void>
      getTsConfig(dir: string): string | false
    }
    const globalTsConfig = getTsConfig(built.inv._project.cwd)
    for (const lambda of Object.values(built.inv.lambdasBySrcDir)) {
      if (lambda.config.runtime === 'typescript') await compileHandler({ inventory: built, lambda, globalTsConfig })
    }
  } finally {
    cache[esbuildPath] = loaded.esbuild
    if (loaded.compile) cache[compilePath] = loaded.compile
    else delete cache[compilePath]
  }
  return collected
}

/**
 * One esbuild run per set of equal options, every handler's entry in it: the
 * modules they share (the SDK, zod, Powertools) are parsed once instead of
 * once per handler, about a third of the CPU. Each bundle is the one a
 * build of its own writes (test/arc-sandbox.test.ts compares them with
 * `npx arc sandbox`'s, byte for byte).
 */
async function buildTogether(handlers: BuildOptions[]): Promise<void> {
  interface Group {
    options: BuildOptions
    outdir: string
    /** outfile -> entry */
    entries: Record<string, string>
  }
  const groups = new Map<string, Group>()
  for (const { entryPoints, outfile, ...options } of handlers) {
    const entry = Array.isArray(entryPoints) && entryPoints.length === 1 ? entryPoints[0] : undefined
    if (typeof entry !== 'string' || !outfile) throw new Error(`plugin-typescript built a handler from ${JSON.stringify(entryPoints)}: not one entry to one outfile`)
    const key = JSON.stringify(options)
    const group: Group = groups.get(key) ?? { options, outdir: dirname(outfile), entries: {} }
    while (relative(group.outdir, outfile).startsWith('..')) group.outdir = dirname(group.outdir)
    group.entries[outfile] = entry
    groups.set(key, group)
  }
  const esbuild = fromPluginTypescript('esbuild') as Esbuild
  try {
    for (const { options, outdir, entries } of groups.values()) {
      const entryPoints = Object.fromEntries(Object.entries(entries).map(([outfile, entry]) => [relative(outdir, outfile).replace(/\.js$/, ''), entry]))
      await esbuild.build({ ...options, entryPoints, outdir })
    }
  } finally {
    // esbuild's service process stays up after a build, and it pings on: a few seconds of CPU a minute for nothing.
    esbuild.stop()
  }
}

/** Builds every handler of the project as plugin-typescript would into `.tmp/<name>/.build`; resolves to that folder. */
export async function buildHandlers(name = `handlers-build-${process.pid}`): Promise<string> {
  const cwd = await prepareAppCopy({ name })
  const built = await inventory({ cwd })
  const build = built.inv._project.build
  if (!build) throw new Error('The project has no build folder: is @architect/plugin-typescript in app.arc?')
  await buildTogether(await pluginBuildOptions(built))
  // The bundles are CommonJS inside this ESM package (the queue-leveling plugin marks an app's own build the same way).
  await mkdir(build, { recursive: true })
  await writeFile(join(build, 'package.json'), '{ "type": "commonjs" }\n')
  // An esbuild error rejects above; a handler plugin-typescript gave no options for would be missing here.
  const missing = missingBundles(built, build, build)
  if (missing.length) throw new Error(`The handlers' build left out ${missing.map((file) => relative(ROOT, file)).join(', ')}`)
  return build
}

let ownBuild: Promise<string> | undefined

/** The shared bundles: the run's (HANDLERS_BUILD_VARIABLE), else built once for this process. */
export function prebuiltHandlers(): Promise<string> {
  const shared = process.env[HANDLERS_BUILD_VARIABLE]
  if (shared) return Promise.resolve(shared)
  ownBuild ??= buildHandlers().then((build) => {
    process.env[HANDLERS_BUILD_VARIABLE] = build
    // This process's own build goes with it (the runner removes the run's).
    process.once('exit', () => rmSync(dirname(build), { recursive: true, force: true }))
    return build
  })
  return ownBuild
}

/** app.arc of an app copy with the prebuilt plugin in plugin-typescript's place. */
export async function usePrebuiltHandlers(cwd: string): Promise<void> {
  const file = join(cwd, 'app.arc')
  const manifest = await readFile(file, 'utf8')
  const pattern = /^architect\/plugin-typescript[^\S\n]*$/m
  if (!pattern.test(manifest)) throw new Error('app.arc has no architect/plugin-typescript line to replace')
  await writeFile(file, manifest.replace(pattern, `prebuilt-typescript\n  src ${relative(cwd, PREBUILT_PLUGIN)}`))
}

/** Removes a build and the project copy it was made in. */
export async function removeBuild(build: string): Promise<void> {
  await rm(dirname(build), { recursive: true, force: true })
}
