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
