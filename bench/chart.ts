import { parse, View } from 'vega'
import { compile, type TopLevelSpec } from 'vega-lite'
import type { RequestRecord } from './load.ts'
import type { Sample } from './sampler.ts'

/** What the chart needs of a run: its samples, its requests and how to name it. */
export interface ChartRun {
  label: string
  samples: Sample[]
  requests: RequestRecord[]
}

export interface ChartOptions {
  title: string
  bound: number
  idealPerSecond: number
}

const WIDTH = 760
const HEIGHT = 150

/**
 * A Vega-Lite spec of four panels over the same time axis (seconds since the
 * burst started, so the baseline lines up with the queue run it replays): queue
 * depth, deliveries in flight at the downstream, deliveries per second and
 * every producer request's latency.
 */
export function chartSpec(runs: ChartRun[], options: ChartOptions): TopLevelSpec {
  const labels = runs.map((run) => run.label)
  const color = { field: 'run', type: 'nominal', title: 'run', scale: { domain: labels }, legend: { orient: 'top', columns: 3, labelLimit: 320 } } as const
  const x = { field: 's', type: 'quantitative', title: 'seconds since the burst started', scale: { nice: false } } as const

  const depth = runs.flatMap((run) =>
    run.samples.flatMap((sample) =>
      sample.queueVisible === null
        ? []
        : [
            { run: run.label, s: sample.t / 1000, series: 'waiting (visible)', n: sample.queueVisible },
            { run: run.label, s: sample.t / 1000, series: 'in flight (received)', n: sample.queueInFlight ?? 0 },
            { run: run.label, s: sample.t / 1000, series: 'DLQ', n: (sample.dlqVisible ?? 0) + (sample.dlqInFlight ?? 0) },
          ],
    ),
  )
  const downstream = runs.flatMap((run) =>
    run.samples.map((sample) => ({ run: run.label, s: sample.t / 1000, n: Math.max(sample.downstreamPeak, sample.downstreamInFlight), rate: sample.deliveriesPerSecond })),
  )
  const latency = runs.flatMap((run) => run.requests.map((request) => ({ run: run.label, s: request.offsetMs / 1000, ms: Math.max(1, request.latencyMs), ok: request.status >= 200 && request.status < 300 ? 'answered 2xx' : 'failed' })))

  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: options.title, anchor: 'start', fontSize: 15 },
    background: 'white',
    config: { view: { stroke: '#ddd' }, axis: { labelFontSize: 11, titleFontSize: 11 }, legend: { labelFontSize: 11, titleFontSize: 11 } },
    resolve: { scale: { color: 'shared', x: 'shared' } },
    vconcat: [
      {
        title: { text: 'Queue depth (messages)', anchor: 'start', fontSize: 12 },
        width: WIDTH,
        height: HEIGHT,
        data: { values: depth },
        mark: { type: 'line', interpolate: 'step-after' },
        encoding: {
          x,
          y: { field: 'n', type: 'quantitative', title: 'messages' },
          color,
          strokeDash: {
            field: 'series',
            type: 'nominal',
            title: 'queue',
            scale: { domain: ['waiting (visible)', 'in flight (received)', 'DLQ'], range: [[1, 0], [6, 3], [2, 2]] },
            legend: { orient: 'right', labelLimit: 200 },
          },
        },
      },
      {
        title: { text: `Deliveries in flight at the downstream (peak per sample; bound maxConcurrency x batchSize = ${options.bound})`, anchor: 'start', fontSize: 12 },
        width: WIDTH,
        height: HEIGHT,
        layer: [
          {
            data: { values: downstream },
            mark: { type: 'line', interpolate: 'step-after' },
            encoding: { x, y: { field: 'n', type: 'quantitative', title: 'calls in flight' }, color },
          },
          {
            data: { values: [{ bound: options.bound }] },
            mark: { type: 'rule', strokeDash: [6, 3], color: '#c00' },
            encoding: { y: { field: 'bound', type: 'quantitative' } },
          },
        ],
      },
      {
        title: { text: `Deliveries per second (ideal drain maxConcurrency x batchSize / latency = ${options.idealPerSecond.toFixed(2)}/s)`, anchor: 'start', fontSize: 12 },
        width: WIDTH,
        height: HEIGHT,
        layer: [
          {
            data: { values: downstream },
            transform: [{ window: [{ op: 'mean', field: 'rate', as: 'smoothed' }], frame: [-3, 3], groupby: ['run'], sort: [{ field: 's' }] }],
            mark: { type: 'line' },
            encoding: { x, y: { field: 'smoothed', type: 'quantitative', title: 'per second (7-sample mean)', scale: { domainMin: 0 } }, color },
          },
          {
            data: { values: [{ ideal: options.idealPerSecond }] },
            mark: { type: 'rule', strokeDash: [6, 3], color: '#c00' },
            encoding: { y: { field: 'ideal', type: 'quantitative' } },
          },
        ],
      },
      {
        title: { text: 'Producer latency of every POST /tasks (by the time it was issued)', anchor: 'start', fontSize: 12 },
        width: WIDTH,
        height: HEIGHT + 40,
        data: { values: latency },
        mark: { type: 'point', size: 14, opacity: 0.7, filled: true },
        encoding: {
          x,
          y: { field: 'ms', type: 'quantitative', title: 'latency (ms, log)', scale: { type: 'log', nice: false, padding: 6 } },
          color,
          shape: { field: 'ok', type: 'nominal', title: 'answer', legend: { orient: 'right' } },
        },
      },
    ],
  } as TopLevelSpec
}

/** Compiles the Vega-Lite spec and renders it headless to SVG. */
export async function renderChart(spec: TopLevelSpec): Promise<string> {
  const view = new View(parse(compile(spec).spec), { renderer: 'none' })
  const svg = await view.toSVG()
  view.finalize()
  return svg
}

/** What the leveling chart needs of an outage run: its samples (t from the outage's start) and how to name it. */
export interface OutageChartRun {
  label: string
  samples: Sample[]
}

export interface LevelingChartOptions {
  outageSeconds: number
  rate: { cap: number; callsAt: number[]; resumedAt: number } | null
}

/**
 * Adaptive leveling in one picture: the outage runs side by side over the
 * same time axis (seconds since the downstream went down, the outage shaded):
 * messages in the queue and the DLQ, downstream calls and consumer
 * invocations (cumulative), whether the consumer was paused; below, the rate
 * cap's deliveries per second against the cap.
 */
export function levelingChartSpec(runs: OutageChartRun[], options: LevelingChartOptions): TopLevelSpec {
  const labels = runs.map((run) => run.label)
  const color = { field: 'run', type: 'nominal', title: 'run', scale: { domain: labels }, legend: { orient: 'top', labelLimit: 320 } } as const
  const x = { field: 's', type: 'quantitative', title: 'seconds since the downstream went down', scale: { nice: false } } as const
  const outage = { data: { values: [{ from: 0, to: options.outageSeconds }] }, mark: { type: 'rect', color: '#fde2e2', opacity: 0.6 }, encoding: { x: { field: 'from', type: 'quantitative' }, x2: { field: 'to' } } } as const
  const first = (run: OutageChartRun): number => (run.samples[0]?.consumer ? run.samples[0].consumer.batches + run.samples[0].consumer.inFlight : 0)
  const rows = runs.flatMap((run) =>
    run.samples.map((sample) => ({
      run: run.label,
      s: sample.t / 1000,
      queue: (sample.queueVisible ?? 0) + (sample.queueInFlight ?? 0) + (sample.queueDelayed ?? 0),
      dlq: (sample.dlqVisible ?? 0) + (sample.dlqInFlight ?? 0),
      calls: sample.deliveriesTotal,
      invocations: sample.consumer ? sample.consumer.batches + sample.consumer.inFlight - first(run) : null,
      paused: sample.consumer ? Number(sample.consumer.paused) : null,
    })),
  )
  const depth = rows.flatMap((row) => [
    { run: row.run, s: row.s, series: 'queue (waiting, in flight, delayed copies)', n: row.queue },
    { run: row.run, s: row.s, series: 'DLQ', n: row.dlq },
  ])
  const panel = (title: string, layer: unknown[], height = HEIGHT - 30): Record<string, unknown> => ({ title: { text: title, anchor: 'start', fontSize: 12 }, width: WIDTH, height, layer: [outage, ...layer] })
  const line = (field: string, title: string): Record<string, unknown> => ({
    data: { values: rows.filter((row) => row[field as keyof typeof row] !== null) },
    mark: { type: 'line', interpolate: 'step-after' },
    encoding: { x, y: { field, type: 'quantitative', title }, color },
  })
  const outagePanels = {
    resolve: { scale: { x: 'shared', color: 'shared' } },
    vconcat: [
      panel(`Messages in the queue and the DLQ (the outage shaded: ${options.outageSeconds} s of 503s)`, [
        {
          data: { values: depth },
          mark: { type: 'line', interpolate: 'step-after' },
          encoding: {
            x,
            y: { field: 'n', type: 'quantitative', title: 'messages' },
            color,
            strokeDash: { field: 'series', type: 'nominal', title: 'where', scale: { domain: ['queue (waiting, in flight, delayed copies)', 'DLQ'], range: [[1, 0], [2, 2]] }, legend: { orient: 'right', labelLimit: 240 } },
          },
        },
      ]),
      panel('Downstream calls (cumulative, every status)', [line('calls', 'calls')]),
      panel('Consumer invocations (cumulative)', [line('invocations', 'invocations')]),
      panel('Consumer paused (1) or receiving (0)', [line('paused', 'paused')], 60),
    ],
  }
  const ratePanel = options.rate
    ? (() => {
        const { cap, callsAt, resumedAt } = options.rate
        const counts = new Map<number, number>()
        for (const at of callsAt) counts.set(Math.floor((at - resumedAt) / 1000), (counts.get(Math.floor((at - resumedAt) / 1000)) ?? 0) + 1)
        return {
          title: { text: `Rate cap: deliveries per second once the backlog was released (NOTIFY_WEBHOOK_MAX_PER_SECOND ${cap}, red)`, anchor: 'start', fontSize: 12 },
          width: WIDTH,
          height: HEIGHT - 30,
          layer: [
            {
              data: { values: [...counts].map(([second, n]) => ({ second, n })) },
              mark: { type: 'bar', color: '#4c78a8' },
              encoding: { x: { field: 'second', type: 'ordinal', title: 'second since the resume', axis: { labelOverlap: true, labelAngle: 0 } }, y: { field: 'n', type: 'quantitative', title: 'deliveries' } },
            },
            { data: { values: [{ cap }] }, mark: { type: 'rule', strokeDash: [6, 3], color: '#c00' }, encoding: { y: { field: 'cap', type: 'quantitative' } } },
          ],
        }
      })()
    : undefined
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: 'Adaptive leveling: a downstream outage with and without the breaker, and the rate cap', anchor: 'start', fontSize: 15 },
    background: 'white',
    config: { view: { stroke: '#ddd' }, axis: { labelFontSize: 11, titleFontSize: 11 }, legend: { labelFontSize: 11, titleFontSize: 11 } },
    resolve: { scale: { x: 'independent', color: 'independent' } },
    vconcat: [...(runs.length ? [outagePanels] : []), ...(ratePanel ? [ratePanel] : [])],
  } as TopLevelSpec
}
