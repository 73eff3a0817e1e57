# Queue-based load leveling: a Task API (producer) stores tasks and publishes
# notification requests; a rate-bounded consumer delivers them.
@app
queue-leveling

@http
get /tasks
post /tasks
get /tasks/:taskId
put /tasks/:taskId
delete /tasks/:taskId
get /tasks/:taskId/notifications
any /*                 # JSON 404 for everything else, and CORS preflight

@tables
tasks
  id *String
deliveries             # delivery log: one row per channel delivery
  taskId *String
  sk **String          # <deliveredAt>#<notification id>#<channel>
idempotency            # Powertools idempotency: one record per channel delivery and per Idempotency-Key
  id *String
  expiration TTL
breakers               # adaptive leveling: each channel's breaker, the operator's pause, the rate-cap slots (docs/adaptive-leveling.md)
  id *String

@tables-indexes
tasks                  # GET /tasks: a caller's own tasks (and tombstones, filtered out), a query by owner in id order
  ownerId *String
  id **String
  name byOwner
tasks                  # sparse: only tasks whose outbox still holds unpublished events
  outboxPending *String
  outboxSince **String
  name pendingOutbox
tasks                  # sparse: only tasks with events parked after SQS kept refusing them (npm run outbox -- parked)
  outboxParked *String
  parkedSince **String
  name parkedOutbox
deliveries             # the consumer's "already delivered?": one key lookup, however long the task's log (docs/scale.md)
  deliveryKey *String  # <notification id>#<channel>
  name byNotification
  projection keys

# Every key below drives both the local emulation (npm start) and the deployed
# CloudFormation; see packages/sqs-queues/README.md.
@queues
notifications
  fifo false            # standard queue (Architect defaults to FIFO)
  batchSize 10          # records per invocation: 1..10, up to 10000 with batchWindow >= 1
  batchWindow 1         # seconds to wait to fill a batch (0..300)
  maxConcurrency 2      # max concurrent consumer invocations (2..1000); 2 x 10 drains 200/s at 100 ms a delivery, 20/s at 1 s: for more, ~2 x rate x latency / batchSize (docs/scale.md)
  maxReceiveCount 5     # receives before a message moves to the DLQ (AWS: at least 5)
  visibilityTimeout 190 # seconds; AWS: 6x the consumer's 30 s timeout + batchWindow
  retentionDays 4
  dlqRetentionDays 14
consumer-control        # adaptive leveling: its function pauses and resumes the notifications consumer (docs/adaptive-leveling.md)
  fifo false
  batchSize 1           # one control message per invocation
  maxConcurrency 2
  visibilityTimeout 90  # seconds; its function's timeout is 60 (a reconcile may wait out a mapping that is Disabling)

@scheduled
relay-outbox rate(1 minute)  # publishes events a failed publish left in a task's outbox

# This app's deploy settings (src/plugins/queue-leveling/README.md): alarms, API throttling, retention, tracing, dashboard
@queue-leveling
alarmOldestMessageSeconds 900  # age of the oldest queued message that raises an alarm
alarmPausedMinutes 30          # a breaker keeping the consumer paused longer than this raises an alarm (docs/adaptive-leveling.md)
throttleRate 100               # HTTP API steady requests per second: what maxConcurrency 2 x 10 delivers with room (200/s at 100 ms), 1% of the account's 10,000/s (docs/scale.md)
throttleBurst 200              # HTTP API burst: one second of that drain
logRetentionDays 30
deliveryRetentionDays 90       # TTL of delivery records
# alarmEmail "ops@example.com" # alarms to an SNS topic with this email subscription
# tracing false                # X-Ray tracing is on by default (Tracing: Active, the app's tracer, X-Ray write permission)
# dashboard false              # each stage's CloudWatch dashboard is on by default (its URL: the DashboardUrl output)

@plugins
architect/plugin-typescript
arc-plugin-sqs-queues  # packages/sqs-queues, installed as a workspace: @queues as real SQS, locally (queues, event source mapping) and deployed
queue-leveling         # src/plugins/queue-leveling: this app's settings checks and deploy resources
local-schedules        # src/plugins/local-schedules: runs @scheduled rate() functions locally (LOCAL_SCHEDULE_SECONDS)

@typescript
esbuild-config esbuild.config.cjs
base-runtime nodejs24.x
sourcemaps staging

@aws
runtime typescript
region us-east-1
timeout 10             # seconds, for the HTTP functions; the consumer sets its own in its config.arc
