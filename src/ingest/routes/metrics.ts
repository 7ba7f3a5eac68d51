import { z } from 'zod';
import { commitAudited } from '../audit.js';
import type { IngestApp, IngestContext } from '../context.js';
import { ErrorReply, jsonObject, keyNameProblem, oneOrMany, text, textRecord } from '../http/schemas.js';
import { metricNameProblems } from '../telemetry/custom-metrics.js';
import { QueueRefusedError } from '../write-queue.js';

const MetricSample = z
  .strictObject({
    name: z.string().min(1).max(200),
    metric_type: z.enum(['counter', 'gauge', 'histogram']),
    value: z.number().finite(),
    help: text(500).optional(),
    labels: textRecord(100, 200).optional(),
    buckets: z
      .array(z.number().finite())
      .min(1)
      .max(40)
      .refine((b) => new Set(b).size === b.length, 'must not repeat a bucket: each upper bound once')
      .optional(),
  })
  .superRefine((s, ctx) => {
    for (const p of metricNameProblems(s)) ctx.addIssue({ code: 'custom', path: p.path.split('.'), message: p.message });
    if (Object.keys(s.labels ?? {}).length > 16) ctx.addIssue({ code: 'custom', path: ['labels'], message: 'at most 16 labels' });
    if (s.metric_type === 'counter' && s.value < 0) ctx.addIssue({ code: 'custom', path: ['value'], message: 'a counter can only increase: value must be >= 0' });
    if (s.buckets && s.metric_type !== 'histogram') ctx.addIssue({ code: 'custom', path: ['buckets'], message: 'only histograms have buckets' });
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
  recorded: z.number().int(),
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
      return { success: true as const, message: 'Metric recorded successfully', recorded: samples.length, metric_names: names, timestamp: new Date().toISOString() };
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
      return { success: true as const, message: 'Business metric recorded successfully', recorded: items.length, metric_names: names, timestamp: new Date().toISOString() };
    },
  );
}
