import { z } from 'zod';
import { commitAudited } from '../audit.js';
import type { IngestApp, IngestContext } from '../context.js';
import { ErrorReply, jsonObject, keyNameProblem, oneOrMany, text, textRecord } from '../http/schemas.js';
import { metricNameProblems } from '../telemetry/custom-metrics.js';
import { QueueRefusedError } from '../write-queue.js';

/** A dotted name as the seed API writes it (`marketplace.recommendation.generated`): exposed with underscores. */
const DOTTED_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*(\.[a-zA-Z0-9_]+)+$/;

/**
 * The name a sample is exposed under: a dotted name with underscores, and a
 * counter's `_total`, so that the seed API's names (`a.b.c`, counter) are
 * taken as Prometheus names (`a_b_c_total`). A Prometheus name is kept.
 */
export function exposedName(name: string, type: string): string {
  if (!DOTTED_NAME.test(name)) return name;
  const base = name.replaceAll('.', '_');
  return type === 'counter' && !base.endsWith('_total') ? `${base}_total` : base;
}

const MetricSample = z
  .strictObject({
    name: z.string().min(1).max(200),
    /** `timer` (the seed API's durations) is a histogram. */
    metric_type: z.enum(['counter', 'gauge', 'histogram', 'timer']),
    value: z.number().finite(),
    help: text(500).optional(),
    /** The seed API's component: the `component` label. */
    component: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/, 'must be 1-64 characters of [A-Za-z0-9_.-]').optional(),
    /** The seed API's tags: labels like `labels`, which must not give one a different value. */
    tags: textRecord(100, 200).optional(),
    labels: textRecord(100, 200).optional(),
    buckets: z
      .array(z.number().finite())
      .min(1)
      .max(40)
      .refine((b) => new Set(b).size === b.length, 'must not repeat a bucket: each upper bound once')
      .optional(),
  })
  .superRefine((s, ctx) => {
    const type = s.metric_type === 'timer' ? 'histogram' : s.metric_type;
    const labels: Record<string, string> = { ...(s.tags ?? {}), ...(s.labels ?? {}), ...(s.component !== undefined ? { component: s.component } : {}) };
    for (const [from, map] of [['tags', s.tags], ['labels', s.labels]] as const) {
      for (const [k, v] of Object.entries(map ?? {})) {
        if (labels[k] !== v) ctx.addIssue({ code: 'custom', path: [from, k], message: `label ${k} is given two different values (tags, labels and component name the same labels)` });
      }
    }
    for (const p of metricNameProblems({ name: exposedName(s.name, type), metric_type: type, labels })) {
      ctx.addIssue({ code: 'custom', path: p.path.split('.'), message: p.message });
    }
    if (Object.keys(labels).length > 16) ctx.addIssue({ code: 'custom', path: ['labels'], message: 'at most 16 labels' });
    if (type === 'counter' && s.value < 0) ctx.addIssue({ code: 'custom', path: ['value'], message: 'a counter can only increase: value must be >= 0' });
    if (s.buckets && type !== 'histogram') ctx.addIssue({ code: 'custom', path: ['buckets'], message: 'only histograms have buckets' });
  })
  .transform((s) => {
    const type = s.metric_type === 'timer' ? ('histogram' as const) : s.metric_type;
    const labels = { ...(s.tags ?? {}), ...(s.labels ?? {}), ...(s.component !== undefined ? { component: s.component } : {}) };
    return {
      name: exposedName(s.name, type),
      sent_name: s.name,
      metric_type: type,
      value: s.value,
      ...(s.help !== undefined ? { help: s.help } : {}),
      ...(Object.keys(labels).length > 0 ? { labels } : {}),
      ...(s.buckets !== undefined ? { buckets: s.buckets } : {}),
    };
  });

export const KPI_NAME = /^[a-z_][a-z0-9_]{0,99}$/;

/** The largest KPI value or target: integers up to it are exact in float8, and no sum or average of them can overflow. */
export const MAX_KPI_VALUE = 1e15;
const kpiNumber = z
  .number()
  .finite()
  .min(-MAX_KPI_VALUE, `must be at least -${MAX_KPI_VALUE}`)
  .max(MAX_KPI_VALUE, `must be at most ${MAX_KPI_VALUE}`);

const BusinessMetric = z.strictObject({
  metric_name: z
    .string()
    .regex(KPI_NAME, 'must be 1-100 characters of [a-z0-9_], not starting with a digit')
    .superRefine((name, ctx) => {
      const problem = keyNameProblem(name);
      if (problem) ctx.addIssue({ code: 'custom', message: problem });
    }),
  value: kpiNumber,
  dimension: z.string().regex(/^[a-z_]{1,32}$/, 'must be 1-32 characters of [a-z_], e.g. daily or monthly').optional(),
  target: kpiNumber.optional(),
  metadata: jsonObject(4_096).optional(),
});

const Recorded = z.strictObject({
  success: z.literal(true),
  message: z.string(),
  /** The seed API's field: the name sent, when the request held one metric. */
  metric_name: z.string().optional(),
  recorded: z.number().int(),
  /** The names the metrics are exposed under on /metrics (a dotted name with underscores, a counter with `_total`). */
  metric_names: z.array(z.string()),
  timestamp: z.string(),
});

const replies = { 200: Recorded, '4xx': ErrorReply, '5xx': ErrorReply };

/** Custom and business metrics, exposed again on /metrics behind the cardinality guard. */
export function registerMetricRoutes(app: IngestApp, ctx: IngestContext): void {
  app.post(
    '/api/v1/monitoring/metrics',
    { config: { scope: 'ingest' }, schema: { body: oneOrMany(MetricSample, 'metrics', 1_000), response: replies } },
    async (request) => {
      if (ctx.state.closing) throw new QueueRefusedError('closed');
      const samples = request.body;
      // Guards first, storage second, exposure last: a refused or unstored sample changes nothing.
      ctx.customMetrics.check(samples);
      const names = [...new Set(samples.map((s) => s.name))];
      await commitAudited(ctx, request, {}, {
        action: 'metrics.record',
        resourceType: 'custom_metric',
        resourceId: names.length === 1 ? names[0]! : null,
        metadata: { count: samples.length, names: names.slice(0, 20) },
      });
      ctx.customMetrics.record(samples);
      const sent = [...new Set(samples.map((s) => s.sent_name))];
      return {
        success: true as const,
        message: 'Metric recorded successfully',
        ...(sent.length === 1 ? { metric_name: sent[0]! } : {}),
        recorded: samples.length,
        metric_names: names,
        timestamp: new Date().toISOString(),
      };
    },
  );

  app.post(
    '/api/v1/monitoring/business-metrics',
    { config: { scope: 'ingest' }, schema: { body: oneOrMany(BusinessMetric, 'metrics', 1_000), response: replies } },
    async (request) => {
      if (ctx.state.closing) throw new QueueRefusedError('closed');
      const items = request.body;
      const names = [...new Set(items.map((m) => m.metric_name))];
      const { name: actor, project } = request.principal!;
      ctx.kpis.check(project, names);
      await commitAudited(
        ctx,
        request,
        { business_metrics: items.map((m) => [m.metric_name, m.value, m.target ?? null, m.dimension ?? null, m.metadata ?? {}, actor, project]) },
        { action: 'business_metrics.record', resourceType: 'business_metric', resourceId: names.length === 1 ? names[0]! : null, metadata: { count: items.length } },
      );
      for (const m of items) ctx.kpis.set(project, m.metric_name, m.value, m.target);
      return {
        success: true as const,
        message: 'Business metric recorded successfully',
        ...(names.length === 1 ? { metric_name: names[0]! } : {}),
        recorded: items.length,
        metric_names: names,
        timestamp: new Date().toISOString(),
      };
    },
  );
}
