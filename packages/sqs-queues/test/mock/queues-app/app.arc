# A small Architect app in plain JavaScript, as a user of the plugin writes one:
# a route that publishes with @architect/functions, and three queues with keys of their own.
@app
mock-queues

@http
post /publish          # { type: "queues" | "events", name, payload, delaySeconds?, groupID? } -> arc.<type>.publish

@events
ping

@queues
orders                 # FIFO: Architect's default, with content-based deduplication
  batchSize 5
  maxReceiveCount 3
  visibilityTimeout 30
  retentionDays 2
jobs                   # a consumer written with arc.queues.subscribe that throws for { fail: true }
  fifo false
  batchSize 1
  maxConcurrency 2
  maxReceiveCount 2
  visibilityTimeout 1
  retentionDays 1
  dlqRetentionDays 3
reports                # a Python consumer reporting partial batch failures
  fifo false
  batchSize 10
  batchWindow 3          # two publishes at once land in one batch, even on a busy machine
  maxReceiveCount 3
  visibilityTimeout 12    # above the batch window plus the consumer's 8 s timeout: a cold Python start on a busy machine takes seconds (4 s was once too few)

@plugins
arc-plugin-sqs-queues
