import { readFile } from 'node:fs/promises'
import test from 'tape'
import { SETTING_DOCS, SETTING_NAMES, SettingsError, validateSettings } from '../../src/lib/config.ts'
import { DEPLOY_DEFAULTS, DEPLOY_SETTING_DOCS } from '../../src/plugins/queue-leveling/deploy-settings.ts'
import { LOCAL_SETTING_DOCS, PLUGIN_SET_VARIABLE_DOCS } from '../../src/plugins/queue-leveling/local-settings.ts'
import { defaultWebhookSecretParameter } from '../../src/plugins/queue-leveling/webhook-secret.ts'
import { QUEUE_KEYS } from 'arc-plugin-sqs-queues/settings'
import { SETTINGS_DOC, settingsDocument } from '../../scripts/lib/settings-doc.ts'

/** docs/settings.md is generated from the code's settings tables: it must be what the generator writes today, and the tables must say what the code does. */

const generated = await settingsDocument()

test('docs/settings.md is what npm run docs:settings generates from the code', async (t) => {
  const committed = await readFile(SETTINGS_DOC, 'utf8')
  const committedLines = committed.split('\n')
  const generatedLines = generated.split('\n')
  const first = generatedLines.findIndex((line, index) => line !== committedLines[index])
  const where = first === -1 ? committedLines.length : first
  t.ok(
    committed === generated,
    committed === generated
      ? 'docs/settings.md is up to date'
      : `docs/settings.md differs from the code's settings at line ${where + 1} (run npm run docs:settings):\n  page: ${committedLines[where] ?? '(end)'}\n  code: ${generatedLines[where] ?? '(end)'}`,
  )
})

test('every setting, variable and key is documented once', (t) => {
  t.deepEqual(Object.keys(SETTING_DOCS).sort(), [...SETTING_NAMES].sort(), 'SETTING_DOCS names exactly the settings SETTINGS reads')
  const variables = [...SETTING_NAMES, ...Object.keys(LOCAL_SETTING_DOCS), ...Object.keys(PLUGIN_SET_VARIABLE_DOCS)].flatMap((name) => name.split(', '))
  t.deepEqual(
    variables.filter((name, index) => variables.indexOf(name) !== index),
    [],
    'no variable is documented in two tables',
  )
  for (const name of variables) t.ok(generated.includes(`\`${name}\``), `${name} is in the page`)
  for (const key of ['fifo', 'contentBasedDeduplication', ...Object.keys(QUEUE_KEYS.numeric)]) t.ok(generated.includes(`| \`${key}\` |`), `@queues ${key} has a row`)
  t.deepEqual(Object.keys(DEPLOY_SETTING_DOCS).sort(), Object.keys(DEPLOY_DEFAULTS).sort(), 'every @queue-leveling key is documented')
  for (const key of Object.keys(DEPLOY_DEFAULTS)) t.ok(generated.includes(`| \`${key}\` |`), `@queue-leveling ${key} has a row`)
  t.ok(DEPLOY_SETTING_DOCS.webhookSecretParameter.default?.includes(defaultWebhookSecretParameter('<app>')), "webhookSecretParameter's documented default is the code's")
  t.end()
})

/** The breaker's periods are also checked against each other: these let either take any value of its range. */
const ROOM = { BREAKER_OPEN_SECONDS: '1', BREAKER_MAX_OPEN_SECONDS: '86400' }

/** The problems one setting's value makes, the others unset (or ROOM's). */
function problemsWith(name: string, value: string): string[] {
  try {
    validateSettings({ ...ROOM, [name]: value })
    return []
  } catch (error) {
    if (!(error instanceof SettingsError)) throw error
    return error.problems.filter((problem) => problem.startsWith(`${name}:`))
  }
}

test("each documented min..max range is the setting's own: both ends taken, one past either end refused", (t) => {
  let ranges = 0
  for (const name of SETTING_NAMES) {
    const range = /(\d+)\.\.(\d+)/.exec(SETTING_DOCS[name].doc)
    if (!range) continue
    ranges++
    const [min, max] = [Number(range[1]), Number(range[2])]
    t.deepEqual(problemsWith(name, String(min)), [], `${name} ${min} is taken`)
    t.deepEqual(problemsWith(name, String(max)), [], `${name} ${max} is taken`)
    if (min > 0) t.equal(problemsWith(name, String(min - 1)).length, 1, `${name} ${min - 1} is refused`)
    t.equal(problemsWith(name, String(max + 1)).length, 1, `${name} ${max + 1} is refused`)
  }
  t.ok(ranges >= 10, `${ranges} documented ranges checked`)
  t.end()
})
