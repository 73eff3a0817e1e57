import { EMF_LOG_SETTING } from 'arc-plugin-sqs-queues/warm-function'
import { DASHBOARD_DEFAULT_PORT } from './dashboard/server.ts'
import { LOCAL_ISSUER_DEFAULT_PORT } from './local-issuer.ts'

/**
 * The variables of local runs that are not runtime settings of the Lambdas
 * (those are src/lib/config.ts's SETTINGS): what a developer may set for
 * `npm start` or `npx arc sandbox`, and what the plugins give the local Lambdas.
 * Each is read or set in the code named by `where`; this is only its one
 * documented entry, from which docs/settings.md is generated.
 */
export interface LocalVariableDoc {
  default: string
  doc: string
  /** The code that reads it (a local setting) or sets it (a variable the plugins set). */
  where: string
}

/** What a developer may set for a local run. */
export const LOCAL_SETTING_DOCS: Record<string, LocalVariableDoc> = {
  PORT: { default: '3333', doc: 'HTTP port of `npm start` (the sandbox\'s API)', where: '`scripts/sandbox.ts`, `@architect/sandbox`; the dashboard\'s burst' },
  DASHBOARD_PORT: { default: String(DASHBOARD_DEFAULT_PORT), doc: 'port of the local dashboard (127.0.0.1 only)', where: '`src/plugins/queue-leveling/dashboard/server.ts`' },
  LOCAL_ISSUER_PORT: {
    default: String(LOCAL_ISSUER_DEFAULT_PORT),
    doc: 'port of the local token issuer (local runs without `AUTH_ISSUER`; `npm run token` mints its tokens)',
    where: '`src/plugins/queue-leveling/local-issuer.ts`',
  },
  ARC_SQS_PORT: {
    default: '9324',
    doc: 'port of the local SQS server, which also answers the local Lambda API of the event source mapping (127.0.0.1 only)',
    where: '`arc-plugin-sqs-queues` (`packages/sqs-queues/src/local-queues.ts`); `npm run dlq`, `npm run burst`',
  },
  ARC_TABLES_PORT: {
    default: '5555',
    doc: "port of the sandbox's DynamoDB (Architect's); if the sandbox had to put it elsewhere (the port was busy) `npm start` stops with a message instead of failing later",
    where: '`@architect/sandbox`; `src/plugins/queue-leveling/plugin.ts`, `npm run outbox`, the migrations',
  },
  [EMF_LOG_SETTING]: {
    default: '`false`',
    doc: "locally, also print the consumer's CloudWatch EMF metric lines (the dashboard charts them either way)",
    where: '`arc-plugin-sqs-queues` (`packages/sqs-queues/src/warm-function.ts`)',
  },
  LOCAL_SCHEDULE_SECONDS: {
    default: 'unset: each `rate()`',
    doc: 'locally, run every `@scheduled` function this often instead of its rate (a positive number of seconds)',
    where: '`src/plugins/local-schedules/schedules.ts`',
  },
}

/** What the plugins give every local Lambda; a value the project's `.env` or `preferences.arc` sets wins. */
export const PLUGIN_SET_VARIABLE_DOCS: Record<string, LocalVariableDoc> = {
  AWS_REGION: { default: "the shell's `AWS_REGION`, else `@aws region`", doc: 'the region the AWS SDK and the records of the local queue name', where: '`arc-plugin-sqs-queues` `set.env`' },
  'AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY': {
    default: 'dummy values',
    doc: 'the AWS SDK needs credentials even locally; local Lambdas never hold real ones, however the sandbox was started',
    where: '`arc-plugin-sqs-queues` `set.env`',
  },
  AWS_ENDPOINT_URL_SQS: { default: '`http://127.0.0.1:<ARC_SQS_PORT>`', doc: 'the local SQS server, for the AWS SDK', where: '`arc-plugin-sqs-queues` `set.env`' },
  AWS_ENDPOINT_URL_LAMBDA: {
    default: 'the same endpoint',
    doc: "the plugin's Lambda API (`GetEventSourceMapping`, `UpdateEventSourceMapping`), which pauses and resumes the local event source mapping",
    where: '`arc-plugin-sqs-queues` `set.env`',
  },
  '<QUEUE>_DLQ_URL': {
    default: 'the local DLQ',
    doc: "each queue's DLQ URL, e.g. `NOTIFICATIONS_DLQ_URL`; the plugin also sets `<QUEUE>_QUEUE_URL` and `<QUEUE>_EVENT_SOURCE_MAPPING` (this app's are runtime settings, above)",
    where: '`arc-plugin-sqs-queues` `set.env`; deployed, its template',
  },
  AWS_ENDPOINT_URL_DYNAMODB: {
    default: '`http://127.0.0.1:<ARC_TABLES_PORT>`',
    doc: "the sandbox's tables, for the AWS SDK's DynamoDB client (Powertools idempotency)",
    where: '`src/plugins/queue-leveling/plugin.ts` `set.env`',
  },
  NODE_COMPILE_CACHE: {
    default: '`node_modules/.cache/node-compile-cache`',
    doc: "V8's code cache, shared by the process the sandbox starts per invocation",
    where: '`src/plugins/queue-leveling/plugin.ts` `set.env`',
  },
  POWERTOOLS_TRACE_ENABLED: {
    default: 'unset locally; `true` deployed with `tracing`',
    doc: 'Powertools Tracer (X-Ray); locally nothing sets it, so the X-Ray SDK is never loaded',
    where: 'the deployed template (`src/plugins/queue-leveling`)',
  },
}
