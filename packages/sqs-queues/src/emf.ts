/**
 * CloudWatch embedded metric format (EMF): a JSON log line whose `_aws`
 * member declares metrics that CloudWatch Logs extracts. Locally nothing
 * extracts them, so the warm function host reads them itself: to keep them off
 * the terminal unless asked for, and to hand them to whoever listens.
 */
export interface EmfMetric {
  namespace: string
  name: string
  unit?: string
  /** Every value the line holds for it: one number, or one per event for percentiles. */
  values: number[]
  /** The dimension names the directive declares, with this line's values. */
  dimensions: Record<string, string>
}

export interface EmfRecord {
  /** Epoch ms the metrics were recorded at (`_aws.Timestamp`). */
  timestamp: number
  metrics: EmfMetric[]
}

interface Directive {
  Namespace?: unknown
  Dimensions?: unknown
  Metrics?: unknown
}

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value)

function numbers(value: unknown): number[] {
  const list = Array.isArray(value) ? value : [value]
  return list.filter((item): item is number => typeof item === 'number' && Number.isFinite(item))
}

/** The metrics of one EMF line; undefined for any other line (plain text, a structured log line). */
export function parseEmf(line: string): EmfRecord | undefined {
  // Most lines are not EMF: skip the JSON parse for them.
  if (!line.startsWith('{') || !line.includes('"_aws"')) return undefined
  let root: unknown
  try {
    root = JSON.parse(line)
  } catch {
    return undefined
  }
  if (!isRecord(root) || !isRecord(root._aws) || !Array.isArray(root._aws.CloudWatchMetrics)) return undefined
  const timestamp = typeof root._aws.Timestamp === 'number' ? root._aws.Timestamp : Date.now()
  const metrics: EmfMetric[] = []
  for (const directive of root._aws.CloudWatchMetrics as Directive[]) {
    if (!isRecord(directive) || typeof directive.Namespace !== 'string' || !Array.isArray(directive.Metrics)) continue
    const names = new Set((Array.isArray(directive.Dimensions) ? directive.Dimensions : []).flat().filter((name): name is string => typeof name === 'string'))
    const dimensions = Object.fromEntries([...names].flatMap((name) => (typeof root[name] === 'string' ? [[name, root[name]]] : [])))
    for (const definition of directive.Metrics) {
      if (!isRecord(definition) || typeof definition.Name !== 'string') continue
      const values = numbers(root[definition.Name])
      if (!values.length) continue
      metrics.push({
        namespace: directive.Namespace,
        name: definition.Name,
        ...(typeof definition.Unit === 'string' && { unit: definition.Unit }),
        values,
        dimensions,
      })
    }
  }
  return metrics.length ? { timestamp, metrics } : undefined
}
