import type { Message } from '@aws-sdk/client-sqs'

/**
 * How `npm run dlq -- peek` shows one message: a header line, then the body,
 * pretty-printed when it is JSON and cut short so that one huge message does
 * not bury the others.
 */
const MAX_BODY_LINES = 40
const MAX_LINE_CHARS = 200

function prettyBody(body: string): string {
  try {
    return JSON.stringify(JSON.parse(body), null, 2)
  } catch {
    return body
  }
}

function truncateBody(text: string): string[] {
  const lines = text.split('\n')
  const shown = lines
    .slice(0, MAX_BODY_LINES)
    .map((line) => (line.length > MAX_LINE_CHARS ? `${line.slice(0, MAX_LINE_CHARS)}… (${line.length - MAX_LINE_CHARS} more characters)` : line))
  if (lines.length > MAX_BODY_LINES) shown.push(`… (${lines.length - MAX_BODY_LINES} more lines)`)
  return shown
}

export function formatMessage(message: Message, position: string): string {
  const sent = Number(message.Attributes?.SentTimestamp)
  const header = [
    `--- ${position}  message ${message.MessageId ?? '?'}`,
    `event ${message.MessageAttributes?.event?.StringValue ?? '(none)'}`,
    `receive count ${message.Attributes?.ApproximateReceiveCount ?? '?'}`,
    `sent ${Number.isFinite(sent) ? new Date(sent).toISOString() : '?'}`,
  ].join('  ')
  return [header, ...truncateBody(prettyBody(message.Body ?? '')).map((line) => `  ${line}`)].join('\n')
}
