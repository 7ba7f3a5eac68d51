import { z } from 'zod';
import type { Principal } from '../http/auth.js';
import { HttpError } from '../http/errors.js';
import { type Bottleneck, type Insights, collectInsights } from '../insights.js';
import type { PrometheusError, PrometheusQuerier } from '../prometheus-client.js';

const num = z.number().nullable();

/** Where the Prometheus figures came from; `not_permitted` when the key may read no service's metrics. */
export const InsightsSourceReply = z.strictObject({
  prometheus: z.enum(['ok', 'partial', 'unavailable', 'not_configured', 'not_permitted']),
  error: z.string().optional(),
  message: z.string().optional(),
  failed: z.array(z.strictObject({ query: z.string(), error: z.string() })).optional(),
});

export const SystemMetricsReply = z.strictObject({
  cpu_usage: num,
  memory_usage: num,
  disk_usage: num,
  network_io: z.strictObject({ bytes_sent: num, bytes_recv: num }),
  last_updated: z.string().nullable(),
});

const BottleneckReply = z.strictObject({
  kind: z.string(),
  component: z.string().nullable(),
  subject: z.string().nullable(),
  evidence: z.strictObject({
    metric: z.string(),
    value: z.number(),
    threshold: z.number(),
    unit: z.enum(['seconds', 'ratio', 'percent']),
    baseline: z.number().optional(),
    sample_size: z.number().optional(),
  }),
});

const Trend = z.enum(['improving', 'degrading', 'stable']);

/** The seed API's analytics fields that come from Prometheus, for one component or every one the key may read. */
export const AnalyticsInsightsReply = {
  component: z.string().nullable(),
  window_seconds: z.number(),
  trends: z.strictObject({
    response_time_trend: Trend,
    error_rate_trend: Trend,
    usage_pattern: z.strictObject({ peak_hours: z.array(z.string()), pattern: z.string() }),
  }),
  /** One id per finding: `kind`, then the component and subject it is about (`slow_route:shop:POST /checkout`). */
  bottlenecks: z.array(z.string()),
  bottleneck_details: z.array(BottleneckReply),
  recommendations: z.array(z.string()),
  top_operations: z.array(
    z.strictObject({
      service: z.string(),
      operation: z.string(),
      request_count: z.number(),
      avg_duration_ms: num,
      p95_ms: num,
      error_rate: num,
    }),
  ),
  component_specific: z.strictObject({
    cache_hit_rate: num,
    caches: z.array(z.strictObject({ service: z.string(), cache: z.string(), hit_rate: num, lookups: z.number() })),
    database_operations: z.array(z.strictObject({ service: z.string(), operation: z.string(), p95_ms: num, queries: z.number() })),
    dependencies: z.array(z.strictObject({ service: z.string(), provider: z.string(), error_rate: num, requests: z.number() })),
  }),
  insights_source: InsightsSourceReply,
};

/** A finding as the seed's list of bottlenecks names it. */
export const bottleneckId = (b: Bottleneck): string => [b.kind, b.component, b.subject].filter((p) => p !== null).join(':');

/**
 * The component whose Prometheus figures a key may be answered: the one asked
 * for (403 when the key may not read it), else all for a key that may read
 * every service, its only one, or none (`not_permitted`). A key limited to
 * several components must name one (400): the figures of a service it may
 * not read never reach it, summed or not.
 */
export function permittedComponent(principal: Principal, asked: string | undefined): { component: string | undefined } | 'not_permitted' {
  const allowed = principal.components;
  if (asked !== undefined) {
    if (allowed !== 'all' && !allowed.has(asked)) {
      throw new HttpError(403, 'forbidden', `query.component: this key may not read the metrics of component ${asked.slice(0, 64)}`);
    }
    return { component: asked };
  }
  if (allowed === 'all') return { component: undefined };
  if (allowed.size === 0) return 'not_permitted';
  if (allowed.size === 1) return { component: [...allowed][0] };
  throw new HttpError(400, 'invalid_request', `query.component: this key reads components ${[...allowed].sort().join(', ')}; name one of them`, [
    { path: 'query.component', message: 'required for a key limited to several components' },
  ]);
}

/** Insights for what a key may read; an empty set, marked `not_permitted`, when it may read no component. */
export async function insightsFor(
  prom: PrometheusQuerier | undefined,
  scope: { component: string | undefined } | 'not_permitted',
  windowSeconds: number,
  onError: (err: PrometheusError, query: string) => void,
): Promise<Insights> {
  if (scope === 'not_permitted') {
    const none = await collectInsights(undefined, { windowSeconds });
    return { ...none, source: { prometheus: 'not_permitted', message: 'this key may read no component: give it components in the key file' } };
  }
  return collectInsights(prom, { ...(scope.component !== undefined ? { component: scope.component } : {}), windowSeconds, onError });
}

/** Where the figures came from, as the routes answer it. */
export function sourceReply(source: Insights['source']): z.output<typeof InsightsSourceReply> {
  const { failed, ...rest } = source;
  return { ...rest, ...(failed ? { failed: failed.map((f) => ({ query: f.query, error: f.error })) } : {}) };
}

/** The analytics fields of the seed API that come from Prometheus. */
export function analyticsInsights(ins: Insights) {
  return {
    component: ins.component,
    window_seconds: ins.window_seconds,
    trends: { ...ins.trends, usage_pattern: { peak_hours: [...ins.trends.usage_pattern.peak_hours], pattern: ins.trends.usage_pattern.pattern } },
    bottlenecks: ins.bottlenecks.map(bottleneckId),
    bottleneck_details: ins.bottlenecks.map((b) => ({ ...b, evidence: { ...b.evidence } })),
    recommendations: [...ins.recommendations],
    top_operations: ins.top_operations.map((o) => ({ ...o })),
    component_specific: {
      cache_hit_rate: ins.component_specific.cache_hit_rate,
      caches: ins.component_specific.caches.map((c) => ({ ...c })),
      database_operations: ins.component_specific.database_operations.map((d) => ({ ...d })),
      dependencies: ins.component_specific.dependencies.map((d) => ({ ...d })),
    },
    insights_source: sourceReply(ins.source),
  };
}
