import { METRIC_NAME } from './types.js';

/** What kind of series a metric is; histograms and summaries stand for their `_bucket`, `_sum` and `_count` series. */
export type MetricType = 'counter' | 'gauge' | 'histogram' | 'summary' | 'info' | 'untyped';

const METRIC_TYPES: readonly MetricType[] = ['counter', 'gauge', 'histogram', 'summary', 'info', 'untyped'];

/** The metrics one producer exposes, by name: entries of the metric catalog the checks read. */
export interface MetricSource {
  /** Who produces them: a component of the stack, an exporter, a service. */
  readonly source: string;
  /** Where the names come from (exporter and version, or the convention). */
  readonly reference: string;
  readonly metrics: Readonly<Record<string, MetricType>>;
}

/** A metric catalog entry a project adds; names and types are checked. */
export class MetricSourceError extends Error {
  readonly code = 'E_METRICS';
  constructor(readonly field: string, message: string) {
    super(`metrics ${field}: ${message}`);
    this.name = 'MetricSourceError';
  }
}

/**
 * Declares metrics a team's services expose, so that rules and panels reading
 * them pass the "unknown metric" check and `rate()` knows their type.
 */
export function defineMetrics(def: MetricSource): MetricSource {
  if (typeof def.source !== 'string' || def.source.trim() === '') throw new MetricSourceError('source', 'must name who produces the metrics');
  if (typeof def.reference !== 'string') throw new MetricSourceError(`${def.source}.reference`, 'must say where the names come from');
  for (const [name, type] of Object.entries(def.metrics ?? {})) {
    if (!METRIC_NAME.test(name)) throw new MetricSourceError(`${def.source}.metrics.${name}`, 'is not a valid metric name');
    if (!METRIC_TYPES.includes(type)) {
      throw new MetricSourceError(`${def.source}.metrics.${name}`, `must be one of ${METRIC_TYPES.join(', ')}, got "${String(type)}"`);
    }
  }
  return def;
}
