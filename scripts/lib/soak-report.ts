import type { SoakOptions } from './soak-args.ts'
import type { AppLogCounts } from './soak-log.ts'
import { percentile, type ProducerStats } from './soak-producer.ts'
import type { DeliveryEvidence, Reconciliation } from './soak-reconcile.ts'

/** The final figures of a soak run, as printed and as written to .tmp/soak-result.json. */
export interface SoakResult {
  ok: boolean
  verdict: string[]
  options: SoakOptions
  app: { ports: Record<string, number>; queue: Record<string, number>; consumerTimeoutSeconds: number; env: Record<string, string> }
  startedAt: string
  seconds: { startup: number; send: number; drain: number; reconcile: number; total: number }
  drained: boolean
  producer: {
    sent: number
    accepted: number
    byStatus: Record<string, number>
    clientErrors: number
    serverErrors: number
    networkErrors: number
    otherAnswers: number
    p50Ms: number
    p95Ms: number
    p99Ms: number
    maxMs: number
    achievedRatePerSecond: number
    maxInFlight: number
    maxScheduleLagMs: number
    errorSamples: string[]
  }
  downstream: {
    calls: number
    answered2xx: number
    answered503: number
    slowCalls: number
    lateAnswers: number
    brownoutCalls: number
    brownoutWindows: { from: string; to: string }[]
    peakInFlight: number
    bound: number
  }
  reconciliation: Reconciliation
  /** The app's delivery log of the tasks behind any duplicate or any DLQ message that was delivered in time. */
  evidence: DeliveryEvidence[]
  consumer: AppLogCounts & { logFile: string; invocationFailedAt: string[] }
}

const round = (value: number): number => Math.round(value)

export function producerFigures(stats: ProducerStats, sendSeconds: number): SoakResult['producer'] {
  return {
    sent: stats.sent,
    accepted: stats.accepted,
    byStatus: stats.byStatus,
    clientErrors: stats.clientErrors,
    serverErrors: stats.serverErrors,
    networkErrors: stats.networkErrors,
    otherAnswers: stats.otherAnswers,
    p50Ms: round(percentile(stats.acceptedLatencies, 50)),
    p95Ms: round(percentile(stats.acceptedLatencies, 95)),
    p99Ms: round(percentile(stats.acceptedLatencies, 99)),
    maxMs: round(stats.acceptedLatencies.reduce((max, value) => Math.max(max, value), 0)),
    achievedRatePerSecond: Math.round((stats.sent / Math.max(sendSeconds, 0.001)) * 100) / 100,
    maxInFlight: stats.maxInFlight,
    maxScheduleLagMs: round(stats.maxLagMs),
    errorSamples: stats.errorSamples,
  }
}

/** What must hold for the run to pass; the reasons it failed, or none. */
export function verdict(result: Omit<SoakResult, 'ok' | 'verdict'>): string[] {
  const problems: string[] = []
  const r = result.reconciliation
  if (!result.drained) problems.push('the queue did not drain within --drain-timeout')
  if (r.missing.length) problems.push(`${r.missing.length} created task(s) neither delivered nor in the DLQ`)
  if (r.duplicateAfterInTime.length) problems.push(`${r.duplicateAfterInTime.length} notification(s) delivered again after an in-time 2xx`)
  if (r.acceptedNotListed.length) problems.push(`${r.acceptedNotListed.length} accepted task(s) missing from GET /tasks`)
  if (result.downstream.peakInFlight > result.downstream.bound) problems.push(`peak in-flight deliveries ${result.downstream.peakInFlight} > bound ${result.downstream.bound}`)
  if (r.created === 0) problems.push('no task was created')
  return problems
}

const yes = (value: boolean): string => (value ? 'yes' : 'NO')
const list = (ids: string[], max = 5): string => (ids.length ? ` (${ids.slice(0, max).join(', ')}${ids.length > max ? ', ...' : ''})` : '')
const counts = (record: Record<string, number>): string =>
  Object.entries(record)
    .sort(([a], [b]) => a.localeCompare(b, undefined, { numeric: true }))
    .map(([key, value]) => `${key}: ${value}`)
    .join(', ') || 'none'

export function formatSummary(result: SoakResult): string {
  const { producer: p, downstream: d, reconciliation: r, seconds: s, consumer: c } = result
  const both = r.dlqAndDeliveredLate + r.dlqAndDeliveredInTime.length
  const lines = [
    '',
    '================ soak summary ================',
    `seed ${result.options.seed}; ${result.options.count} creates at ${result.options.rate}/s (at most ${result.options.concurrency} in flight); downstream fails ${result.options.failRate * 100}%, slow ${result.options.slowRate * 100}%, ${d.brownoutWindows.length} brownout(s)`,
    `elapsed: ${s.total.toFixed(0)} s in all (startup ${s.startup.toFixed(0)} s, sending ${s.send.toFixed(0)} s, draining ${s.drain.toFixed(0)} s, reconciling ${s.reconcile.toFixed(0)} s); drained: ${yes(result.drained)}`,
    '',
    'producer (POST /tasks)',
    `  sent ${p.sent}: 2xx ${p.accepted + p.otherAnswers}, 4xx ${p.clientErrors}, 5xx ${p.serverErrors}, network errors ${p.networkErrors}  [by status: ${counts(p.byStatus)}]`,
    `  latency of 2xx: p50 ${p.p50Ms} ms, p95 ${p.p95Ms} ms, p99 ${p.p99Ms} ms, max ${p.maxMs} ms`,
    `  achieved ${p.achievedRatePerSecond}/s; at most ${p.maxInFlight} in flight; worst start behind schedule ${p.maxScheduleLagMs} ms`,
    ...(p.errorSamples.length ? [`  errors seen: ${p.errorSamples.join(' | ')}`] : []),
    '',
    'downstream (webhook)',
    `  calls ${d.calls}: 2xx ${d.answered2xx}, 503 ${d.answered503}; slow ${d.slowCalls}, answered after the consumer's timeout ${d.lateAnswers}, during brownouts ${d.brownoutCalls}`,
    `  peak in-flight deliveries ${d.peakInFlight} (bound maxConcurrency x batchSize = ${d.bound}): ${d.peakInFlight <= d.bound ? 'within' : 'OVER'}`,
    '',
    'consumer and app (from the captured app output)',
    `  batches: ${c.batchesAllDone} all done, ${c.batchesPartlyFailed} partly failed, ${c.invocationsFailed} invocation(s) failed (nothing deleted); ${c.movingToDlq} message(s) reported moving to the DLQ; poller errors ${c.pollerErrors}; relay runs failed ${c.relayFailures}`,
    `  Lambdas cut off at their timeout (sandbox warnings): ${c.lambdaTimeouts}; Lambda init errors (the invocation was gone: timed out before its process asked for it): ${c.lambdaInitErrors}`,
    `  Lambda WARN/ERROR lines: ${counts(c.lambdaWarnings)}`,
    ...(c.notableWarnings.length ? ['  notable: ' + c.notableWarnings.join('\n           ')] : []),
    `  full log: ${c.logFile}`,
    '',
    'reconciliation',
    `  tasks created (201):                ${r.accepted}`,
    `  GET /tasks listing (Link paging):   ${r.listed === undefined ? 'FAILED' : `${r.listed} in ${r.listedPages} page(s)`}; accepted but not listed ${r.acceptedNotListed.length}${list(r.acceptedNotListed)}; listed but not answered 201 ${r.listedNotAccepted.length}${list(r.listedNotAccepted)}`,
    `  created (accepted + listed):        ${r.created}`,
    `  notifications delivered (2xx):      ${r.delivered}  (of which only by answers the consumer never saw: ${r.deliveredOnlyLate})`,
    `  duplicate deliveries (2xx > once):  ${r.duplicate2xx}`,
    `    after a 2xx the consumer saw:     ${r.duplicateAfterInTime.length} (must be 0)${
      r.duplicateAfterInTime.length
        ? `; of these, ${r.duplicateAfterInTime.filter((duplicate) => duplicate.invocationFailedAfter2xx).length} had a consumer invocation fail (error or timeout, nothing deleted) from 3 s before to the consumer's timeout after the earlier 2xx (by chance: ${(r.inTime2xxNearInvocationFailure * 100).toFixed(0)}% of all such 2xx)`
        : ''
    }`,
    `    after a 2xx it never saw:         ${r.duplicateAfterLate + r.duplicateAfterConsumerTimeout} (answered after the ${result.options.webhookTimeoutMs} ms timeout: by the downstream's delay ${r.duplicateAfterLate}, by the consumer's own "Webhook timed out" ${r.duplicateAfterConsumerTimeout}; the spec's at-least-once edge)`,
    `  calls after a 2xx the consumer saw: ${r.resentAfterInTime}`,
    `  messages in the DLQ:                ${r.dlqMessages} (${r.dlqTasks} created task(s); events ${counts(r.dlqEvents)}; not a created task ${r.dlqUnknown})`,
    `    DLQ tasks by downstream calls:    ${counts(r.dlqCallsHistogram)}`,
    `    DLQ tasks also delivered:         ${r.dlqAndDeliveredLate + r.dlqAndDeliveredInTime.length} (by answers the consumer never saw ${r.dlqAndDeliveredLate}; by one it saw ${r.dlqAndDeliveredInTime.length}${list(r.dlqAndDeliveredInTime)})`,
    `  missing (neither):                  ${r.missing.length}${list(r.missing)} (must be 0)`,
    `  deliveries of unknown tasks:        ${r.strangers}`,
    `  created == delivered + DLQ:         ${r.created} ${r.balanced ? '==' : '!='} ${r.delivered} + ${r.dlqTasks}: ${yes(r.balanced)}${
      r.balanced ? '' : ` (counted in both: ${r.dlqAndDeliveredLate + r.dlqAndDeliveredInTime.length}, missing: ${r.missing.length})`
    }`,
    ...(r.balanced
      ? []
      : [
          `  each task once (delivered + DLQ - both): ${r.created} ${r.created === r.delivered + r.dlqTasks - both ? '==' : '!='} ${r.delivered} + ${r.dlqTasks} - ${both}: ${yes(r.created === r.delivered + r.dlqTasks - both)}`,
        ]),
  ]
  for (const duplicate of r.duplicateAfterInTime.slice(0, 5)) {
    lines.push(`    duplicate ${duplicate.notificationId}${duplicate.invocationFailedAfter2xx ? ' [an invocation failed around the earlier 2xx]' : ''}: calls ${duplicate.calls.map((call) => `${call.at} ${call.status} after ${call.delayMs} ms${call.late ? ' (late)' : ''}`).join('; ')}`)
    if (duplicate.consumerFailures.length) {
      lines.push(`      consumer failures: ${duplicate.consumerFailures.map((failure) => `${failure.at} receive ${failure.receiveCount}: ${failure.reasons.join(', ')}`).join('; ')}`)
    }
  }
  for (const item of result.evidence) {
    const records = typeof item.records === 'string' ? item.records : item.records.map((record) => `receive ${record.receiveCount} at ${record.deliveredAt}`).join('; ') || 'no record'
    lines.push(`    delivery log of ${item.taskId} (${item.why}): ${records}`)
  }
  lines.push('', result.ok ? 'RESULT: PASS (nothing missing, no duplicate delivery)' : `RESULT: FAIL: ${result.verdict.join('; ')}`, '')
  return lines.join('\n')
}
