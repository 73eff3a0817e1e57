import test from 'tape'
import { InvalidMessageError, parseTaskEvent } from '../../src/lib/messages/contract.ts'
import { toNotification } from '../../src/lib/notifications/notification.ts'
import type { Task } from '../../src/lib/tasks/task.ts'

const task: Task = { id: 't1', title: 'Pay rent', isComplete: false, version: 1, createdAt: '2026-01-01T00:00:00.000Z', updatedAt: '2026-01-01T00:00:00.000Z' }
const v2 = { ...task, version: 2, updatedAt: '2026-01-02T00:00:00.000Z' }

test('one notification per event, with an id that names the event and version', (t) => {
  const created = toNotification({ event: 'task_created', body: { task } })
  t.deepEqual(created, {
    id: 'task_created:t1:1', event: 'task_created', taskId: 't1', version: 1,
    subject: 'New task created: Pay rent', text: 'New task created: Pay rent\nStatus: open', occurredAt: task.createdAt, task,
  })
  const completed = toNotification({ event: 'task_updated', body: { oldTask: task, newTask: { ...v2, isComplete: true } } })
  t.equal(completed.subject, 'Task completed: Pay rent')
  t.equal(completed.id, 'task_updated:t1:2')
  t.equal(completed.occurredAt, v2.updatedAt)
  t.equal(toNotification({ event: 'task_updated', body: { oldTask: task, newTask: v2 } }).subject, 'Task updated: Pay rent')
  const stillComplete = { ...v2, isComplete: true }
  t.equal(toNotification({ event: 'task_updated', body: { oldTask: stillComplete, newTask: { ...stillComplete, version: 3 } } }).subject, 'Task updated: Pay rent', 'only the turn to complete is a completion')
  const deleted = toNotification({ event: 'task_deleted', body: { task: v2, deletedAt: '2026-01-03T00:00:00.000Z' } })
  t.equal(deleted.subject, 'Task deleted: Pay rent')
  t.equal(deleted.id, 'task_deleted:t1:2')
  t.equal(deleted.occurredAt, '2026-01-03T00:00:00.000Z')
  t.end()
})

test('messages off the contract can never succeed', (t) => {
  t.deepEqual(parseTaskEvent('task_created', JSON.stringify({ task })), { event: 'task_created', body: { task } })
  const problems: [unknown, string, RegExp][] = [
    ['task_exploded', JSON.stringify({ task }), /Unknown event attribute: "task_exploded"/],
    [undefined, JSON.stringify({ task }), /Unknown event attribute: null/],
    ['task_created', 'not json', /not JSON/],
    ['task_created', JSON.stringify({ oldTask: task }), /off contract: task/],
    ['task_updated', JSON.stringify({ oldTask: task, newTask: { ...task, version: 0 } }), /off contract: newTask.version/],
    ['task_deleted', JSON.stringify({ task }), /off contract: deletedAt/],
    ['task_created', JSON.stringify({ task: { ...task, isComplete: 'yes' } }), /off contract: task.isComplete/],
  ]
  for (const [event, body, message] of problems) {
    t.throws(() => parseTaskEvent(event, body), (error: unknown) => error instanceof InvalidMessageError && message.test(error.message), String(message))
  }
  t.end()
})
