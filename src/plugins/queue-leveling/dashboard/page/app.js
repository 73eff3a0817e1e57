// The local dashboard's page. It follows /api/events (server-sent events: the
// history once, then the whole state and one chart point per tick), draws the
// figures and the uPlot charts (served from node_modules), and posts the
// buttons' actions to the same server. Text from messages and logs is only
// ever set as textContent, never parsed as HTML.
'use strict'

const $ = (id) => document.getElementById(id)
/** Chart points kept: about nine minutes at the server's tick. */
const KEEP = 600
const PALETTE = ['#2563eb', '#16a34a', '#9333ea', '#0891b2', '#ca8a04']
const BAD = '#c2410c'

const data = {}
let channels = []
const charts = {}
let lastAction = 0
let lastConsumerAction = 0

const text = (id, value) => {
  const element = $(id)
  const shown = String(value)
  if (element.textContent !== shown) element.textContent = shown
}
const ms = (value) => (value === null || value === undefined ? '–' : value < 1000 ? `${Math.round(value)} ms` : `${(value / 1000).toFixed(1)} s`)
const time = (iso) => (iso ? new Date(iso).toLocaleTimeString([], { hour12: false }) : '')

/** Empty series; a reconnect's history starts them over. */
function reset() {
  Object.assign(data, { t: [], waiting: [], inFlight: [], dlq: [], invocations: [], limit: [], p50: [], p95: [], delivered: {}, failed: {} })
  channels = []
  charts.deliveries?.destroy()
  charts.deliveries = undefined
}
reset()

function record(point) {
  data.t.push(point.t)
  data.waiting.push(point.waiting)
  data.inFlight.push(point.inFlight)
  data.dlq.push(point.dlq)
  data.invocations.push(point.invocations)
  data.limit.push(point.maxConcurrency)
  data.p50.push(point.p50)
  data.p95.push(point.p95)
  for (const channel of Object.keys(point.delivered)) {
    if (!channels.includes(channel)) {
      channels.push(channel)
      // A new channel's series starts with gaps for the time before it was seen.
      data.delivered[channel] = data.t.slice(0, -1).map(() => null)
      data.failed[channel] = data.t.slice(0, -1).map(() => null)
      charts.deliveries?.destroy()
      charts.deliveries = undefined
    }
  }
  for (const channel of channels) {
    data.delivered[channel].push(point.delivered[channel] ?? 0)
    data.failed[channel].push(point.failed[channel] ?? 0)
  }
  if (data.t.length > KEEP) {
    for (const list of [data.t, data.waiting, data.inFlight, data.dlq, data.invocations, data.limit, data.p50, data.p95]) list.shift()
    for (const channel of channels) {
      data.delivered[channel].shift()
      data.failed[channel].shift()
    }
  }
}

function chart(key, element, series, values, yRange, yValues) {
  if (!charts[key]) {
    charts[key] = new uPlot(
      {
        width: $(element).clientWidth,
        height: 200,
        // Lines only: a marker per point is noise at one point a second.
        series: [{}, ...series.map((item) => ({ points: { show: false }, ...item }))],
        scales: { x: { time: true }, y: { range: yRange ?? ((_u, _min, max) => [0, Math.max(1, max) * 1.1]) } },
        axes: [{}, { size: 60, ...(yValues && { values: yValues }) }],
        legend: { live: false },
        cursor: { show: false },
      },
      values,
      $(element),
    )
  } else {
    charts[key].setData(values)
  }
}

function draw() {
  if (typeof uPlot === 'undefined' || !data.t.length) return
  chart(
    'queue',
    'chart-queue',
    [
      { label: 'waiting', stroke: PALETTE[0], width: 2, fill: 'rgba(37,99,235,0.08)' },
      { label: 'in flight', stroke: PALETTE[1], width: 2 },
      { label: 'DLQ', stroke: BAD, width: 2 },
    ],
    [data.t, data.waiting, data.inFlight, data.dlq],
  )
  chart(
    'consumer',
    'chart-consumer',
    [
      { label: 'in flight', stroke: PALETTE[2], width: 2, paths: uPlot.paths.stepped({ align: 1 }) },
      { label: 'maxConcurrency', stroke: '#9ca3af', width: 1, dash: [6, 4] },
    ],
    [data.t, data.invocations, data.limit],
    (_u, _min, max) => [0, max + 1],
  )
  chart(
    'deliveries',
    'chart-deliveries',
    channels.flatMap((channel, index) => [
      { label: `${channel} delivered/s`, stroke: PALETTE[index % PALETTE.length], width: 2 },
      { label: `${channel} failed/s`, stroke: BAD, width: 1.5, dash: [4, 3] },
    ]),
    [data.t, ...channels.flatMap((channel) => [data.delivered[channel], data.failed[channel]])],
  )
  chart(
    'latency',
    'chart-latency',
    [
      { label: 'p50', stroke: PALETTE[3], width: 2 },
      { label: 'p95', stroke: PALETTE[4], width: 2 },
    ],
    [data.t, data.p50, data.p95],
    undefined,
    (_u, ticks) => ticks.map(ms),
  )
}

/** What each list last showed: a list is rebuilt only when it changed, which most ticks it has not. */
const shownLists = new Map()
function changed(id, items) {
  const key = JSON.stringify(items)
  if (shownLists.get(id) === key) return false
  shownLists.set(id, key)
  return true
}

function rows(id, items, cells) {
  if (!changed(id, items)) return
  const body = $(id)
  body.replaceChildren(
    ...items.map((item) => {
      const row = document.createElement('tr')
      for (const [value, bad] of cells(item)) {
        const cell = document.createElement('td')
        cell.textContent = String(value)
        if (bad) cell.className = 'bad'
        row.append(cell)
      }
      return row
    }),
  )
}

/** Who holds the consumer, and whether its mapping has got there yet. */
function pauseText(consumer) {
  if (consumer.paused) {
    if (consumer.pausedBy === 'operator') return ['paused by the operator', 'paused']
    if (consumer.pausedBy === 'breaker') return ['paused by a breaker', 'paused']
    return ['resuming…', 'moving']
  }
  return consumer.pausedBy === null ? ['consuming', 'consuming'] : [`pausing (${consumer.pausedBy})…`, 'moving']
}

function untilText(until) {
  if (until === null) return '–'
  const left = Math.ceil((until - Date.now()) / 1000)
  return `${new Date(until).toLocaleTimeString([], { hour12: false })}${left > 0 ? ` (${left} s)` : ''}`
}

function renderLeveling(state) {
  const [said, kind] = pauseText(state.consumer)
  text('consumer-state', said)
  $('consumer-state').dataset.state = kind
  $('tile-consumer').classList.toggle('alert', state.consumer.paused)
  // Pause while no operator holds it; Resume lifts the operator's pause only (a breaker lifts its own).
  $('consumer-pause').disabled = switching || state.consumer.pausedBy === 'operator'
  $('consumer-resume').disabled = switching || state.consumer.pausedBy !== 'operator'
  const breakers = Object.entries(state.breakers).map(([channel, breaker]) => ({ channel, ...breaker }))
  // The countdown changes every tick: the rows are rebuilt when anything shown changes.
  rows('breakers', breakers.map((breaker) => ({ ...breaker, shown: untilText(breaker.until) })), (breaker) => [
    [breaker.channel],
    [breaker.state, breaker.state !== 'closed'],
    [breaker.shown],
    [breaker.consecutiveFailures, breaker.consecutiveFailures > 0],
  ])
  if (state.consumerAction && state.consumerAction.at > lastConsumerAction) {
    lastConsumerAction = state.consumerAction.at
    text('consumer-result', state.consumerAction.message)
    $('consumer-result').classList.toggle('bad', !state.consumerAction.ok)
  }
}

function render(state) {
  renderLeveling(state)
  text('queue-name', state.queue.name)
  text('queue-waiting', state.queue.waiting)
  text('queue-inflight', state.queue.inFlight)
  text('consumer-inflight', state.consumer.inFlight)
  text('consumer-max', state.consumer.maxConcurrency)
  text('consumer-batches', state.consumer.batches)
  text('consumer-batchsize', state.consumer.batchSize)
  text('deliveries-total', state.deliveries.total)
  text('deliveries-rate', state.deliveries.perSecond.toFixed(1))
  text('deliveries-failed', state.deliveries.failed)
  text('latency-p50', ms(state.deliveries.latency.p50))
  text('latency-p95', ms(state.deliveries.latency.p95))
  text('latency-window', `last ${state.deliveries.latency.windowSeconds} s`)
  text('dlq-name', state.dlq.name)
  text('dlq-waiting', state.dlq.waiting)
  text('dlq-inflight', state.dlq.inFlight)
  const dlqCount = state.dlq.waiting + state.dlq.inFlight
  text('dlq-count', dlqCount)
  text('dlq-noun', dlqCount === 1 ? 'message' : 'messages')
  $('tile-dlq').classList.toggle('alert', dlqCount > 0)
  $('tile-deliveries').classList.toggle('alert', state.deliveries.failedPerSecond > 0)

  const burst = state.burst
  $('burst-send').disabled = !burst.available || burst.running
  $('burst-count').disabled = !burst.available
  const status = $('burst-status')
  status.classList.toggle('bad', !burst.available)
  if (!burst.available) text('burst-status', burst.reason)
  else if (burst.startedAt)
    text('burst-status', `${burst.running ? 'Sending' : 'Sent'} ${burst.sent}/${burst.count}: ${burst.accepted} accepted, ${burst.failed} failed, median ${ms(burst.p50Ms)} per create`)

  if (state.dlqAction && state.dlqAction.at > lastAction) {
    lastAction = state.dlqAction.at
    showResult(state.dlqAction.message, state.dlqAction.ok)
  }

  rows('latest-deliveries', state.deliveries.latest, (item) => [[time(item.at)], [item.channel], [item.taskId], [item.notificationId], [item.receiveCount]])
  $('latest-empty').hidden = state.deliveries.latest.length > 0
  rows('latest-batches', state.consumer.latestBatches, (item) => [
    [`#${item.batch}`],
    [item.poller],
    [item.size],
    [item.deleted],
    [item.error ?? item.failed, Boolean(item.failed || item.error)],
    [item.durationMs],
  ])
  if (changed('problems', state.deliveries.problems)) {
    $('problems').replaceChildren(
      ...state.deliveries.problems.map((problem) => {
        const item = document.createElement('li')
        item.textContent = `${time(problem.at)} ${problem.message}${problem.notificationId ? ` (${problem.notificationId})` : ''}${problem.detail ? `: ${problem.detail}` : ''}`
        return item
      }),
    )
  }
}

function showResult(message, ok) {
  text('dlq-result', message)
  $('dlq-result').classList.toggle('bad', !ok)
}

async function post(path, body) {
  const response = await fetch(path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body ?? {}) })
  const value = await response.json().catch(() => ({}))
  if (!response.ok) throw new Error(value.message ?? `HTTP ${response.status}`)
  return value
}

/** Runs a DLQ button's action with every DLQ button disabled until it is done. */
async function dlqAction(run) {
  const buttons = ['dlq-peek', 'dlq-replay', 'dlq-purge'].map($)
  for (const button of buttons) button.disabled = true
  try {
    await run()
  } catch (error) {
    showResult(error.message, false)
  } finally {
    for (const button of buttons) button.disabled = false
  }
}

function showMessages(messages) {
  $('dlq-messages').replaceChildren(
    ...messages.map((message) => {
      const item = document.createElement('li')
      item.dataset.messageId = message.id
      const meta = document.createElement('div')
      meta.className = 'meta'
      meta.textContent = `message ${message.id}  event ${message.event ?? '(none)'}  receive count ${message.receiveCount ?? '?'}  sent ${message.sentAt ?? '?'}`
      const body = document.createElement('pre')
      body.textContent = message.body
      item.append(meta, body)
      return item
    }),
  )
}

$('dlq-peek').addEventListener('click', () =>
  dlqAction(async () => {
    const result = await post('/api/dlq/peek', { max: 10 })
    showMessages(result.messages)
    showResult(result.message, result.ok)
  }),
)
$('dlq-replay').addEventListener('click', () =>
  dlqAction(async () => {
    showResult('Replaying…', true)
    const result = await post('/api/dlq/replay')
    // What was peeked is no longer in the DLQ.
    if (result.ok) showMessages([])
    showResult(result.message, result.ok)
  }),
)
$('dlq-purge').addEventListener('click', () =>
  dlqAction(async () => {
    // The server counts the visible messages by id; exactly those are deleted once confirmed.
    const counted = await post('/api/dlq/purge/count')
    if (!counted.plan) return showResult(counted.question, true)
    if (!confirm(counted.question)) return showResult('Nothing purged.', true)
    const result = await post('/api/dlq/purge', { plan: counted.plan })
    if (result.ok) showMessages([])
    showResult(result.message, result.ok)
  }),
)
let switching = false
/** Pause or Resume, as npm run consumer does it; the buttons wait for the answer. */
async function switchConsumer(action) {
  switching = true
  $('consumer-pause').disabled = true
  $('consumer-resume').disabled = true
  text('consumer-result', action === 'pause' ? 'Pausing…' : 'Resuming…')
  try {
    const result = await post(`/api/consumer/${action}`)
    text('consumer-result', result.message)
    $('consumer-result').classList.toggle('bad', !result.ok)
  } catch (error) {
    text('consumer-result', error.message)
    $('consumer-result').classList.add('bad')
  } finally {
    switching = false
    if (latest) renderLeveling(latest)
  }
}
$('consumer-pause').addEventListener('click', () => switchConsumer('pause'))
$('consumer-resume').addEventListener('click', () => switchConsumer('resume'))

$('burst-form').addEventListener('submit', async (event) => {
  event.preventDefault()
  try {
    await post('/api/burst', { count: Number($('burst-count').value) })
  } catch (error) {
    text('burst-status', error.message)
    $('burst-status').classList.add('bad')
  }
})

window.addEventListener('resize', () => {
  for (const [key, instance] of Object.entries(charts)) {
    const element = $(`chart-${key}`)
    instance.setSize({ width: element.clientWidth, height: 200 })
  }
})

const source = new EventSource('/api/events')
const connection = $('connection')
source.addEventListener('history', (event) => {
  reset()
  for (const point of JSON.parse(event.data)) record(point)
  draw()
})
let latest
source.addEventListener('message', (event) => {
  const { state, point } = JSON.parse(event.data)
  record(point)
  latest = state
  // A page nobody looks at (a background tab) only keeps the points: drawing is what costs.
  if (document.hidden) return
  connection.dataset.state = 'live'
  connection.textContent = 'live'
  render(state)
  draw()
})
document.addEventListener('visibilitychange', () => {
  if (document.hidden || !latest) return
  render(latest)
  draw()
})
source.addEventListener('error', () => {
  connection.dataset.state = 'lost'
  connection.textContent = 'reconnecting…'
})
