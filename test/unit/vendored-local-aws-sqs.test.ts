import { createHash } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import test from 'tape'
import { ROOT } from '../../scripts/lib/harness/index.ts'

/**
 * The plugin's local-aws-sqs is upstream's file plus exactly the changes its
 * README lists: the installed upstream (a devDependency, for this check only),
 * with the README's diff blocks applied, is the vendored file byte for byte.
 */

const VENDOR = join(ROOT, 'packages/sqs-queues/vendor/local-aws-sqs')
const upstreamDir = dirname(dirname(createRequire(import.meta.url).resolve('local-aws-sqs')))
const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex')

interface Change {
  before: string
  after: string
}

/** The README's ```diff blocks: `-` lines are upstream's text, `+` lines what replaces it (each side joined with newlines). */
function changesIn(readme: string): Change[] {
  return [...readme.matchAll(/^```diff\n([\s\S]*?)^```$/gm)].map(([, block = '']) => {
    const lines = block.split('\n').slice(0, -1)
    const side = (sign: string) =>
      lines
        .filter((line) => line.startsWith(sign))
        .map((line) => line.slice(1))
        .join('\n')
    return { before: side('-'), after: side('+') }
  })
}

const readme = await readFile(join(VENDOR, 'README.md'), 'utf8')
const upstream = await readFile(join(upstreamDir, 'dist/index.js'), 'utf8')

test('the installed local-aws-sqs is the upstream version and file the README names', async (t) => {
  const { version } = JSON.parse(await readFile(join(upstreamDir, 'package.json'), 'utf8')) as { version: string }
  t.ok(readme.startsWith(`# local-aws-sqs ${version},`), `README names upstream ${version}`)
  t.ok(readme.includes(`\`${sha256(upstream)}\``), `the installed dist/index.js (SHA-256 ${sha256(upstream)}) is the one the README names, untouched`)
  t.equal(await readFile(join(VENDOR, 'LICENSE'), 'utf8'), await readFile(join(upstreamDir, 'LICENSE'), 'utf8'), "upstream's licence goes with it")
  t.end()
})

test("the vendored file is upstream's with exactly the README's changes, each at one place", async (t) => {
  const changes = changesIn(readme)
  t.ok(changes.length >= 3, `${changes.length} changes listed`)
  let patched = upstream
  for (const { before, after } of changes) {
    t.equal(patched.split(before).length - 1, 1, `once in upstream: ${before.slice(0, 60)}`)
    patched = patched.replace(before, () => after)
  }
  const vendored = await readFile(join(VENDOR, 'index.cjs'), 'utf8')
  t.equal(sha256(patched), sha256(vendored), 'upstream + the listed changes = index.cjs')
  t.end()
})
