/**
 * arc-plugin-sqs-queues: the plugin Architect loads from `@plugins` (the
 * default export), and the types of its arguments. Its building blocks are
 * exported by module (`arc-plugin-sqs-queues/template`, `/local-queues`...).
 */
export { default, queueSettingsOf, type ArcInventory, type DeployArgs, type Invoke, type PluginArgs, type QueueLambda } from './plugin.ts'
