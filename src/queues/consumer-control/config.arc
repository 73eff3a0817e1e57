# The consumer-control function: it switches the notifications consumer's
# event source mapping (adaptive leveling). A reconcile waits while the
# mapping finishes the batches under way (Disabling), up to this timeout;
# @queues consumer-control visibilityTimeout must be at least it.
@aws
timeout 60
