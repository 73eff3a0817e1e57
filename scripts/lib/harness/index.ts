/**
 * The one harness that tests, scripts and the bench share: an app copy and
 * its start in the sandbox, ports, a webhook receiver, the local queues,
 * waiting on conditions, stdout capture. Nothing here imports from test/.
 */
export { prepareAppCopy, ROOT, withQueueKeys, type AppCopyOptions, type QueueOverrides } from '../app-copy.ts'
export { queueUrlOf, sqsEndpointOf, startSandboxApp, TEST_CALLER, type Mint, type SandboxApp, type SandboxAppOptions } from './app.ts'
export { buildHandlers, HANDLERS_BUILD_VARIABLE, prebuiltHandlers, removeBuild } from './handler-build.ts'
export { DEFAULT_PORTS, freePort, freePorts, offsetPorts, type PortSet } from './ports.ts'
export { createdMessage, drainView, localSqsClient, queueDepth, queueSettings, sendRaw, startLocalSqs, takeAll, type LocalSqs, type QueueDepth, type RawMessage } from './queues.ts'
export { mostInWindow, percentile } from '../stats.ts'
export { runScript, type ScriptResult } from './scripts.ts'
export { stdoutOf, stdoutOfAsync } from './stdout.ts'
export { stopAll, type Stoppable } from './stop.ts'
export { paced, sleep, waitFor } from './wait.ts'
export { startWarmApi, type WarmApi } from './warm-api.ts'
export { WebhookReceiver, type WebhookBehaviour, type WebhookCall } from '../webhook-receiver.ts'
