/**
 * What each function of this app uses of AWS, from reading its code: the one
 * place a function's permissions are decided. roles.ts turns each entry into
 * that function's own IAM role; a function with no entry stops the build, so
 * a new route is deployed only with what it was deliberately given.
 *
 * Every function also writes its own log group, and each one that uses a
 * table reads the table names under `/<StackName>` (`arc.tables()`); roles.ts
 * adds those.
 */
import { OWNER_INDEX, PENDING_INDEX } from '../../lib/adapters/task-item.ts'

export type DynamoAction = 'dynamodb:GetItem' | 'dynamodb:PutItem' | 'dynamodb:UpdateItem' | 'dynamodb:DeleteItem' | 'dynamodb:Query'

export interface TableAccess {
  /** The `@tables` name. */
  table: string
  /** On the table's items. */
  actions?: DynamoAction[]
  /**
   * Indexes it queries (`dynamodb:Query` on each, nothing else); `'all'`:
   * every index app.arc declares on the table, for a function that may Query
   * the table itself, which reaches every item an index could.
   */
  indexes?: string[] | 'all'
  /**
   * Only the items whose partition key starts with `<the function's name>#`
   * (`dynamodb:LeadingKeys`): the keys Powertools idempotency writes, whose
   * prefix is AWS_LAMBDA_FUNCTION_NAME (makeIdempotent with no keyPrefix), so
   * each function reaches its own records and no other's.
   */
  ownKeysOnly?: boolean
}

export interface FunctionAccess {
  tables?: TableAccess[]
  /** `@queues` it sends to. */
  produces?: string[]
  /** `@queues` it is the consumer of (its event source mapping uses its role). */
  consumes?: string[]
  /**
   * `@queues` whose consumer it pauses and resumes: GetEventSourceMapping and
   * UpdateEventSourceMapping on exactly that queue's mapping (by its ARN).
   */
  switchesMappingOf?: string[]
  /** SES SendEmail (the email channel), from the sender its NOTIFY_EMAIL_FROM names; nothing when the stage sends no email. */
  sendsEmail?: boolean
  /**
   * GetParameter on the webhook signing secret, whose name it gets as
   * NOTIFY_WEBHOOK_SECRET_PARAMETER, and on the webhook URL's parameter when
   * its NOTIFY_WEBHOOK_URL_PARAMETER names one.
   */
  readsWebhookParameters?: boolean
}

/** A function's key in FUNCTION_ACCESS: its pragma and name, as app.arc says them. */
export const accessKey = (metadata: { pragma?: string; name?: string } | undefined): string => `@${metadata?.pragma ?? '?'} ${metadata?.name ?? '?'}`

/**
 * The task store's writes (dynamo-task-store.ts): a create is a conditional
 * put; settling the outbox after a publish is an update, or a delete once a
 * deleted task's last event is out, which only a tombstone's settling does:
 * the delete route's and the relay's, never a create's or a replace's.
 */
const SETTLE: DynamoAction[] = ['dynamodb:UpdateItem', 'dynamodb:DeleteItem']
/** Powertools idempotency records, the function's own only: claimed by a conditional put, read, completed by an update, dropped after a failure. */
const IDEMPOTENCY: TableAccess = { table: 'idempotency', actions: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem'], ownKeysOnly: true }
/**
 * Adaptive leveling's state (dynamo-breaker-store.ts): consistent reads of the
 * breakers and the pause, conditional puts of transitions, updates of a
 * streak and of a rate slot. Nothing deletes or queries it.
 */
const BREAKERS: TableAccess = { table: 'breakers', actions: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'] }

export const FUNCTION_ACCESS: Record<string, FunctionAccess> = {
  // Reads: a caller's tasks through the owner index, one task by id, a task's delivery log.
  '@http get /tasks': { tables: [{ table: 'tasks', indexes: [OWNER_INDEX] }] },
  '@http get /tasks/:taskId': { tables: [{ table: 'tasks', actions: ['dynamodb:GetItem'] }] },
  '@http get /tasks/:taskId/notifications': { tables: [{ table: 'deliveries', actions: ['dynamodb:Query'] }] },
  // Writes: the task with its outbox, then the publish of its events. A create puts, a replace reads and puts,
  // both settle by an update (the task is there); a delete puts a tombstone, which its settling deletes.
  '@http post /tasks': { tables: [{ table: 'tasks', actions: ['dynamodb:PutItem', 'dynamodb:UpdateItem'] }, IDEMPOTENCY], produces: ['notifications'] },
  '@http put /tasks/:taskId': { tables: [{ table: 'tasks', actions: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'] }], produces: ['notifications'] },
  '@http delete /tasks/:taskId': { tables: [{ table: 'tasks', actions: ['dynamodb:GetItem', 'dynamodb:PutItem', ...SETTLE] }], produces: ['notifications'] },
  // CORS preflight and the JSON 404: nothing but its log.
  '@http any /*': {},
  // The relay: tasks with pending events, each read again, published, settled.
  '@scheduled relay-outbox': { tables: [{ table: 'tasks', actions: ['dynamodb:GetItem', ...SETTLE], indexes: [PENDING_INDEX] }], produces: ['notifications'] },
  // The consumer: deliveries recorded (and looked up against duplicates, by the table or an index of it), once per channel (idempotency), by webhook or email.
  // Adaptive leveling: the breakers; a record that must wait is sent again to its own queue as a fresh copy;
  // an opening or closing tells the control queue. It cannot switch its own mapping: the control function does.
  '@queues notifications': {
    tables: [{ table: 'deliveries', actions: ['dynamodb:PutItem', 'dynamodb:Query'], indexes: 'all' }, IDEMPOTENCY, BREAKERS],
    consumes: ['notifications'],
    produces: ['notifications', 'consumer-control'],
    sendsEmail: true,
    readsWebhookParameters: true,
  },
  // The control function: reads the breakers and the pause, half-opens a breaker whose period is over, re-sends a probe
  // timer that came early (SQS delays at most 15 minutes), and switches the notifications consumer's mapping, that one only.
  '@queues consumer-control': {
    tables: [BREAKERS],
    consumes: ['consumer-control'],
    produces: ['consumer-control'],
    switchesMappingOf: ['notifications'],
  },
}
