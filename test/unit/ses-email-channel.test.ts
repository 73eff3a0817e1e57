import {
  AccountSuspendedException,
  BadRequestException,
  LimitExceededException,
  MailFromDomainNotVerifiedException,
  MessageRejected,
  NotFoundException,
  SendingPausedException,
  SendEmailCommand,
  SESv2ServiceException,
  TooManyRequestsException,
  type SendEmailCommandOutput,
} from '@aws-sdk/client-sesv2'
import test from 'tape'
import { SesEmailChannel, toDeliveryFailure, type EmailSender } from '../../src/lib/adapters/ses-email-channel.ts'
import { readConsumerSettings } from '../../src/lib/config.ts'
import { DeliveryFailedError } from '../../src/lib/notifications/channel.ts'
import { toNotification } from '../../src/lib/notifications/notification.ts'

/**
 * The email channel at the SDK boundary: what it asks SES to send, and how each
 * SES refusal maps to a retryable or permanent failure. Throttling is what the
 * local SES cannot produce, so it is simulated here, by a client whose send
 * rejects with the SDK's own exceptions; the real sending is test/email.test.ts.
 */
const now = '2030-01-02T03:04:05.000Z'
const notification = toNotification({
  event: 'task_created',
  body: { task: { id: 't-1', title: 'Pay\nthe rent', isComplete: false, version: 1, createdAt: now, updatedAt: now } },
})
const settings = { to: ['a@example.com', 'Bee <b@example.com>'], from: 'Tasks <tasks@example.com>' }

class FakeSes implements EmailSender {
  readonly sent: SendEmailCommand[] = []
  outcome: () => Promise<SendEmailCommandOutput> = async () => ({ MessageId: 'ses-1', $metadata: { httpStatusCode: 200 } })

  send(command: SendEmailCommand): Promise<SendEmailCommandOutput> {
    this.sent.push(command)
    return this.outcome()
  }
}

const $metadata = (httpStatusCode: number) => ({ $metadata: { httpStatusCode } })

async function failureOf(error: unknown): Promise<unknown> {
  const ses = new FakeSes()
  ses.outcome = () => Promise.reject(error)
  try {
    await new SesEmailChannel(settings, () => ses).deliver(notification)
    return 'delivered'
  } catch (failure) {
    return failure
  }
}

test('sends one SendEmail: from, every recipient, the subject and the text', async (t) => {
  const ses = new FakeSes()
  await new SesEmailChannel(settings, () => ses).deliver(notification)
  t.equal(ses.sent.length, 1, 'one call')
  const input = ses.sent[0]!.input
  t.equal(input.FromEmailAddress, 'Tasks <tasks@example.com>')
  t.deepEqual(input.Destination, { ToAddresses: ['a@example.com', 'Bee <b@example.com>'] })
  t.equal(input.Content?.Simple?.Subject?.Data, 'New task created: Pay the rent', 'the subject, with the line break a header cannot hold made a space')
  t.equal(input.Content?.Simple?.Body?.Text?.Data, notification.text, 'the notification text as the text body')
  t.equal(input.Content?.Simple?.Body?.Html, undefined, 'text only')
  t.deepEqual(input.Content?.Simple?.Headers, [
    { Name: 'X-Notification-Id', Value: 'task_created:t-1:1' },
    { Name: 'X-Notification-Event', Value: 'task_created' },
  ])
})

test('SES throttling maps to a retryable DeliveryFailedError', async (t) => {
  const throttled = [
    new TooManyRequestsException({ message: 'Maximum sending rate exceeded', ...$metadata(429) }),
    new LimitExceededException({ message: 'Daily message quota exceeded', ...$metadata(400) }),
    new SESv2ServiceException({ name: 'ThrottlingException', $fault: 'client', message: 'Rate exceeded', ...$metadata(400) }),
  ]
  for (const error of throttled) {
    const failure = await failureOf(error)
    t.ok(failure instanceof DeliveryFailedError, `${error.name} is a DeliveryFailedError`)
    t.equal((failure as DeliveryFailedError).retryable, true, `${error.name} is retryable`)
    t.match((failure as Error).message, new RegExp(`^SES ${error.name}`), 'the message names the SES error')
  }
})

test('refusals that a retry cannot change map to a permanent DeliveryFailedError', async (t) => {
  const permanent = [
    new MessageRejected({ message: 'Email address is not verified', ...$metadata(400) }),
    new MailFromDomainNotVerifiedException({ message: 'MAIL FROM domain not verified', ...$metadata(400) }),
    new BadRequestException({ message: 'Missing final @domain', ...$metadata(400) }),
    new NotFoundException({ message: 'Configuration set does not exist', ...$metadata(404) }),
    new AccountSuspendedException({ message: 'Account suspended', ...$metadata(400) }),
    new SendingPausedException({ message: 'Sending paused', ...$metadata(400) }),
    new SESv2ServiceException({ name: 'AccessDeniedException', $fault: 'client', message: 'not authorized to perform ses:SendEmail', ...$metadata(403) }),
  ]
  for (const error of permanent) {
    const failure = await failureOf(error)
    t.ok(failure instanceof DeliveryFailedError, `${error.name} is a DeliveryFailedError`)
    t.equal((failure as DeliveryFailedError).retryable, false, `${error.name} is permanent`)
  }
})

test('timeouts, 5xx and an unreachable SES are retryable', (t) => {
  const cases: [string, unknown][] = [
    ['500', new SESv2ServiceException({ name: 'InternalFailure', $fault: 'server', message: 'internal', ...$metadata(500) })],
    ['503 without a modelled name', Object.assign(new Error('Service Unavailable'), { name: 'Unknown', ...$metadata(503) })],
    ['request timeout', Object.assign(new Error('Request did not complete within 4000 ms'), { name: 'TimeoutError' })],
    ['connection refused', Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:8505'), { code: 'ECONNREFUSED' })],
  ]
  for (const [what, error] of cases) t.equal(toDeliveryFailure(error).retryable, true, what)
  t.end()
})

test('email settings: both or neither, every recipient an address', (t) => {
  const problem = (env: Record<string, string>): string => {
    try {
      readConsumerSettings(env)
      return 'accepted'
    } catch (error) {
      return (error as Error).message
    }
  }
  t.equal(readConsumerSettings({}).email, undefined, 'off without settings')
  t.deepEqual(readConsumerSettings({ NOTIFY_EMAIL_TO: ' a@example.com, Bee <b@example.com> ,', NOTIFY_EMAIL_FROM: 'tasks@example.com' }).email, {
    to: ['a@example.com', 'Bee <b@example.com>'],
    from: 'tasks@example.com',
  })
  t.match(problem({ NOTIFY_EMAIL_TO: 'a@example.com' }), /^Invalid settings: NOTIFY_EMAIL_FROM: must be set together with NOTIFY_EMAIL_TO$/)
  t.match(problem({ NOTIFY_EMAIL_FROM: 'tasks@example.com' }), /^Invalid settings: NOTIFY_EMAIL_TO: must be set together with NOTIFY_EMAIL_FROM$/)
  t.match(problem({ NOTIFY_EMAIL_TO: 'a@example.com, nobody', NOTIFY_EMAIL_FROM: 'tasks@example.com' }), /NOTIFY_EMAIL_TO: not an email address: nobody/)
  t.match(problem({ NOTIFY_EMAIL_TO: 'a@example.com', NOTIFY_EMAIL_FROM: 'tasks' }), /NOTIFY_EMAIL_FROM: not an email address: tasks/)
  t.match(problem({ NOTIFY_EMAIL_TO: ' , ', NOTIFY_EMAIL_FROM: 'tasks@example.com' }), /NOTIFY_EMAIL_TO: needs at least one address/)
  t.match(problem({ AWS_ENDPOINT_URL_SESV2: 'not a url' }), /^Invalid settings: AWS_ENDPOINT_URL_SESV2: /, 'a local SES endpoint must be a URL')
  t.end()
})
