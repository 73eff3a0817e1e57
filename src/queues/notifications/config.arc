# The consumer's own timeout (seconds). NOTIFY_WEBHOOK_TIMEOUT_MS must stay below
# it, and @queues visibilityTimeout must be at least it.
@aws
timeout 30
