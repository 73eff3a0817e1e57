import { join } from 'node:path'
import inventory from '@architect/inventory'
import { QUEUE_KEYS, readQueueSettings, type QueueSettings } from 'arc-plugin-sqs-queues/settings'
import { SETTING_DOCS, SETTING_NAMES, settingDefault } from '../../src/lib/config.ts'
import { DEPLOY_DEFAULTS, DEPLOY_RANGES, DEPLOY_SETTING_DOCS, readDeploySettings, DEPLOY_SETTINGS_PRAGMA, type DeploySettings } from '../../src/plugins/queue-leveling/deploy-settings.ts'
import { LOCAL_SETTING_DOCS, PLUGIN_SET_VARIABLE_DOCS, type LocalVariableDoc } from '../../src/plugins/queue-leveling/local-settings.ts'
import { ROOT } from './app-copy.ts'

/**
 * docs/settings.md, generated from the code's settings tables (`npm run
 * docs:settings` writes it; test/unit/settings-doc.test.ts fails when the page
 * and the tables differ): the runtime settings (src/lib/config.ts), the
 * variables of local runs (local-settings.ts), the `@queues` keys (the queue
 * package's QUEUE_KEYS, with this app's values from app.arc) and the
 * `@queue-leveling` deploy keys (deploy-settings.ts).
 */
export const SETTINGS_DOC = join(ROOT, 'docs', 'settings.md')

type ArcValue = string | number | boolean | ArcValue[] | { [key: string]: ArcValue }

/** What this app's app.arc makes of the keys: each queue's settings and the deploy settings. */
interface AppValues {
  queues: QueueSettings[]
  deploy: DeploySettings
  /** `@aws timeout`: the HTTP functions' timeout, seconds. */
  httpTimeout: number
}

async function appValues(): Promise<AppValues> {
  const { inv } = (await inventory({ cwd: ROOT })) as unknown as {
    inv: {
      _project: { arc: { queues?: Parameters<typeof readQueueSettings>[0]['queues']; aws?: unknown } & Record<string, unknown> }
      queues?: { name: string; config: { timeout: number } }[] | null
      aws: { timeout: number }
    }
  }
  const arc = inv._project.arc
  const consumerTimeouts = Object.fromEntries((inv.queues ?? []).map((queue) => [queue.name, queue.config.timeout]))
  return {
    queues: readQueueSettings({ queues: arc.queues, aws: arc.aws, consumerTimeouts }),
    deploy: readDeploySettings(arc[DEPLOY_SETTINGS_PRAGMA] as ArcValue[] | undefined),
    httpTimeout: inv.aws.timeout,
  }
}

/** A value as the tables show it: numbers bare, words in code, nothing as "unset". */
function shown(value: unknown): string {
  if (value === undefined || value === null || (Array.isArray(value) && value.length === 0)) return 'unset'
  if (typeof value === 'number') return String(value)
  return `\`${Array.isArray(value) ? value.join(',') : String(value)}\``
}

const cell = (text: string): string => text.replaceAll('|', '\\|').replaceAll('\n', ' ')

function table(header: string[], rows: string[][]): string {
  return [`| ${header.join(' | ')} |`, `|${header.map(() => '---').join('|')}|`, ...rows.map((row) => `| ${row.map(cell).join(' | ')} |`)].join('\n')
}

const variableRows = (docs: Record<string, LocalVariableDoc>): string[][] =>
  Object.entries(docs).map(([name, entry]) => [name.split(', ').map((part) => `\`${part}\``).join(', '), entry.default, entry.doc, entry.where])

/** SQS's and Lambda's retry budget with the shipped values: the waits before a message's last receive. */
function retryBudget(notifications: QueueSettings | undefined): string {
  const base = Number(settingDefault('RETRY_BASE_SECONDS'))
  const cap = Number(settingDefault('RETRY_MAX_SECONDS'))
  const receives = notifications?.maxReceiveCount ?? QUEUE_KEYS.numeric.maxReceiveCount.default
  const waits = Array.from({ length: receives - 1 }, (_, index) => Math.min(cap, base * 2 ** index))
  const total = waits.reduce((sum, wait) => sum + wait, 0)
  return [
    '## Retry budget',
    '',
    'A failure that may pass brings its message back after',
    '`RETRY_BASE_SECONDS x 2^(receives-1)` seconds (capped at `RETRY_MAX_SECONDS`), so the',
    'time a downstream outage can last before a message reaches the DLQ is the sum of the',
    `waits before its last receive: with the shipped \`maxReceiveCount\` ${receives} and`,
    `\`RETRY_BASE_SECONDS\` ${base} it is **${waits.join(' + ')} = ${total} s**, an outage of ${Math.round(total / 60)} minutes`,
    'ridden out (`test/retries.test.ts` proves the rule with a 1 s base: an outage shorter',
    'than the budget loses nothing, a longer one parks the message). The original',
    "pattern's 3 receives and 60 s visibility gave about a minute. With the breaker",
    '([adaptive leveling](adaptive-leveling.md)) an outage of any length puts nothing in the DLQ.',
  ].join('\n')
}

export async function settingsDocument(): Promise<string> {
  const app = await appValues()
  const notifications = app.queues.find((queue) => queue.name === 'notifications')
  const runtime = table(
    ['variable', 'default', 'meaning'],
    SETTING_NAMES.map((name) => [`\`${name}\``, SETTING_DOCS[name].default ?? shown(settingDefault(name)), SETTING_DOCS[name].doc]),
  )
  const queueRows: string[][] = [
    ['fifo', QUEUE_KEYS.fifo.default, '', QUEUE_KEYS.fifo.doc],
    ['contentBasedDeduplication', shown(QUEUE_KEYS.contentBasedDeduplication.default), '', QUEUE_KEYS.contentBasedDeduplication.doc],
    ...Object.entries(QUEUE_KEYS.numeric).map(([key, rule]) => [
      key,
      'default' in rule ? shown(rule.default) : 'derived',
      `${rule.range[0]}..${rule.range[1]}${'fifo' in rule ? ` (FIFO: ${rule.fifo.range[0]}..${rule.fifo.range[1]})` : ''}`,
      rule.doc,
    ]),
  ]
  const appValue = (queue: QueueSettings, key: string): string => {
    if (key === 'fifo') return shown(queue.fifo !== undefined)
    if (key === 'contentBasedDeduplication') return queue.fifo ? shown(queue.fifo.contentBasedDeduplication) : 'n/a'
    return shown(queue[key as keyof QueueSettings])
  }
  const queues = table(
    ['key', 'default', 'range', ...app.queues.map((queue) => `\`${queue.name}\` here`), 'meaning'],
    queueRows.map(([key = '', fallback = '', range = '', doc = '']) => [`\`${key}\``, fallback, range, ...app.queues.map((queue) => appValue(queue, key)), doc]),
  )
  const deployKeys = Object.keys(DEPLOY_DEFAULTS) as (keyof DeploySettings)[]
  const deploy = table(
    ['key', 'default', 'range', 'here', 'meaning'],
    deployKeys.map((key) => {
      const range = key in DEPLOY_RANGES ? DEPLOY_RANGES[key as keyof typeof DEPLOY_RANGES] : undefined
      return [
        `\`${key}\``,
        DEPLOY_SETTING_DOCS[key].default ?? shown(DEPLOY_DEFAULTS[key]),
        range ? `${range[0]}..${range[1]}` : typeof DEPLOY_DEFAULTS[key] === 'boolean' ? '`true`, `false`' : '',
        shown(app.deploy[key]),
        DEPLOY_SETTING_DOCS[key].doc,
      ]
    }),
  )
  return `${[
    '# Settings',
    '',
    '<!-- Generated by `npm run docs:settings` from the code\'s settings tables (scripts/lib/settings-doc.ts); edit those, not this page. -->',
    '',
    'Three kinds of settings: environment variables, read at run time by the Lambdas (and',
    'some by the local run); the `@queues` keys of `app.arc`, which drive the local emulation',
    'and the deployed CloudFormation alike; and the `@queue-leveling` keys of `app.arc`, which',
    'change only the deployed template. Each table below is generated from the code that',
    'reads them, so it cannot drift from it.',
    '',
    '## Runtime settings (environment variables)',
    '',
    'For `npm start` they are read from its environment and override Architect\'s `.env`;',
    'under `npx arc sandbox` they come from `.env` or `preferences.arc` (`@env testing`);',
    'deployed, from `npx arc env` ([deploy](deploy.md)). Each function reads and checks only',
    'the settings it uses (a typo in a consumer setting cannot take the HTTP routes down), and',
    '`npm start`, `npx arc sandbox` and deploy check them all before anything runs, naming',
    'every invalid one. The one reader is `src/lib/config.ts` (`SETTINGS`, documented in',
    '`SETTING_DOCS`).',
    '',
    runtime,
    '',
    retryBudget(notifications),
    '',
    '## Local runs',
    '',
    'What you may set for `npm start` or `npx arc sandbox`, besides the runtime settings',
    '(`src/plugins/queue-leveling/local-settings.ts`):',
    '',
    table(['variable', 'default', 'meaning', 'read by'], variableRows(LOCAL_SETTING_DOCS)),
    '',
    'What the plugins give every local Lambda, however the sandbox was started (a value the',
    "project's `.env` or `preferences.arc` sets wins), so application code has no sandbox",
    'branch ([parity](parity.md)):',
    '',
    table(['variable', 'value', 'meaning', 'set by'], variableRows(PLUGIN_SET_VARIABLE_DOCS)),
    '',
    '## `@queues` keys',
    '',
    'Each queue\'s keys in `app.arc`, read once by the queue package (`QUEUE_KEYS` in',
    '`packages/sqs-queues/src/settings.ts`; its [README](../packages/sqs-queues/README.md)). A',
    'combination AWS would refuse, or one that would lose messages, stops the build with a',
    'message naming the key, in `npm start` as in `npx arc deploy`. `fifo`, `batchSize` and',
    '`batchWindow` are Architect\'s own keys, with Architect\'s defaults. A consumer\'s own',
    `timeout is \`timeout\` in its \`config.arc\` (${app.queues.map((queue) => `\`${queue.name}\` ${queue.consumerTimeout} s`).join(', ')}); the HTTP`,
    `functions use the \`@aws timeout\` of \`app.arc\` (${app.httpTimeout} s; the sandbox starts a process per request, which can`,
    'take seconds on a loaded laptop).',
    '',
    queues,
    '',
    '## `@queue-leveling` keys (deploy)',
    '',
    'Optional, one `name value` per line under `@queue-leveling` in `app.arc`; a value AWS',
    'would refuse stops the build (`npm run template` as `npx arc deploy`) naming the key',
    '(`src/plugins/queue-leveling/deploy-settings.ts`; the plugin\'s',
    '[README](../src/plugins/queue-leveling/README.md)). "here" is this app\'s `app.arc`.',
    '',
    deploy,
  ].join('\n')}\n`
}
