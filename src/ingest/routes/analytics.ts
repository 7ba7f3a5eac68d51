import { z } from 'zod';
import type { IngestApp, IngestContext } from '../context.js';
import type { Queryable } from '../db.js';
import { ErrorReply } from '../http/schemas.js';
import { ComponentParam, WindowParam, severityLevel, healthScore, type Insights, type Severity } from '../insights.js';
import type { PrometheusError } from '../prometheus-client.js';
import { AnalyticsInsightsReply, InsightsSourceReply, SystemMetricsReply, analyticsInsights, insightsFor, permittedComponent } from './insight-fields.js';
import { utcDay } from '../rollup.js';

const DAY_MS = 86_400_000;
const num = z.number().nullable();
const ISO = (col: string) => `to_char(${col} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;

const Latency = z.strictObject({ p50: num, p95: num, p99: num });
const Analytics = z.strictObject({
  period: z.strictObject({ from: z.string(), to: z.string(), days: z.number() }),
  summary: z.strictObject({
    events: z.number(),
    daily_active_users: z.number(),
    average_daily_active_users: num,
    monthly_active_users: z.number(),
    sessions: z.number(),
    session_duration_avg_seconds: num,
    page_views: z.number(),
    satisfaction_avg: num,
    ratings: z.number(),
    retention_day_1: num,
    retention_day_7: num,
    requests: z.number(),
    error_rate: num,
    latency_ms: Latency,
    error_reports: z.number(),
    /** The seed's figures, from Prometheus over `window` (null without it): requests, mean response time (ms), 5xx share, requests a minute. */
    total_requests: num,
    average_response_time: num,
    request_error_rate: num,
    throughput_per_minute: num,
  }),
  ...AnalyticsInsightsReply,
  feature_usage: z.array(z.strictObject({ feature: z.string(), uses: z.number(), users: z.number() })),
  daily: z.array(
    z.strictObject({ day: z.string(), events: z.number(), active_users: z.number(), sessions: z.number(), error_rate: num, latency_p95_ms: num }),
  ),
  last_rollup_at: z.string().nullable(),
  generated_at: z.string(),
});
type AnalyticsReply = Omit<z.output<typeof Analytics>, keyof typeof AnalyticsInsightsReply | 'summary'> & {
  summary: Omit<z.output<typeof Analytics>['summary'], 'total_requests' | 'average_response_time' | 'request_error_rate' | 'throughput_per_minute'>;
};

const Trend = z.enum(['increasing', 'decreasing', 'stable']);
const BusinessDashboard = z.strictObject({
  kpis: z.record(z.string(), z.number()),
  targets: z.record(z.string(), z.strictObject({ current: z.number(), target: z.number(), achievement: num })),
  trends: z.record(z.string(), Trend),
  user_metrics: z.strictObject({
    daily_active_users: z.number(),
    monthly_active_users: z.number(),
    session_duration_avg_seconds: num,
    /** The seed's unit: minutes. */
    session_duration_avg: num,
    pages_per_session: num,
    bounce_rate: num,
    return_user_rate: num,
    satisfaction_avg: num,
  }),
  revenue_metrics: z.strictObject({ monthly_recurring_revenue: num, average_revenue_per_user: num, customer_lifetime_value: num }),
  growth_metrics: z.strictObject({ user_growth_rate: num, revenue_growth_rate: num, market_penetration: num }),
  quality_metrics: z.strictObject({ model_accuracy_avg: num, recommendation_relevance: num, system_reliability: num }),
  generated_at: z.string(),
});

const Health = z.strictObject({
  status: z.enum(['healthy', 'degraded', 'unhealthy']),
  database: z.strictObject({ status: z.enum(['up', 'down']), latency_ms: num }),
  queue: z.strictObject({ depth: z.number(), limit: z.number() }),
  today: z.strictObject({ requests: z.number(), error_rate: num, latency_ms: Latency, error_reports: z.number(), events: z.number() }),
  active_alerts: z.array(
    z.strictObject({
      id: z.number(),
      /** The seed's names of the same facts. */
      alert_id: z.string(),
      name: z.string(),
      alertname: z.string(),
      severity: z.string().nullable(),
      component: z.string().nullable(),
      starts_at: z.string(),
      triggered_at: z.string(),
      acknowledged: z.boolean(),
    }),
  ),
  last_rollup_at: z.string().nullable(),
  /** 0-100 from error rate, latency, saturation, firing alerts and the database (see insights.ts HEALTH_WEIGHTS); null when nothing is known. */
  overall_health_score: num,
  system_metrics: SystemMetricsReply,
  /** Requests of the last 5 minutes, from Prometheus: how many, a minute, 5xx, mean response time (ms). */
  recent_performance: z.strictObject({ total_requests: num, requests_per_minute: num, error_count: num, performance_average: num }),
  monitoring_status: z.strictObject({
    prometheus: InsightsSourceReply.shape.prometheus,
    targets_up: num,
    targets_total: num,
    /** Whether the rollup ran in the last two hours (it runs hourly). */
    background_tasks_running: z.boolean(),
  }),
  timestamp: z.string(),
});

/** a / b, or null when b is not positive or the quotient is not a finite number. */
const ratio = (a: number, b: number) => {
  const q = b > 0 ? a / b : null;
  return q !== null && Number.isFinite(q) ? q : null;
};

/**
 * A sum or mean of rollup values: computed in numeric, which cannot
 * overflow, then clamped into float8's range (±1e308), so that no stored
 * value, however large, makes a read fail or answer a non-finite number.
 */
const f8 = (e: string) => `(CASE WHEN ${e} > 1e308 THEN 1e308 WHEN ${e} < -1e308 THEN -1e308 ELSE ${e} END)::float8`;

/** Daily percentile `p` over the window, weighted by each day's requests. */
const weighted = (p: string) =>
  f8(`sum(l.value::numeric * r.value::numeric) FILTER (WHERE l.metric = 'latency_${p}_ms') / nullif(sum(r.value::numeric) FILTER (WHERE l.metric = 'latency_${p}_ms'), 0)`);

interface Sums {
  [metric: string]: number;
}

/** Sum of each rollup metric (all dimensions) of a project over [from, to]. */
async function sums(db: Queryable, project: string, from: string, to: string): Promise<Sums> {
  const { rows } = await db.query<{ metric: string; value: number }>(
    `SELECT metric, ${f8('sum(value::numeric)')} AS value FROM daily_rollups
      WHERE day BETWEEN $1::date AND $2::date AND project = $3 AND metric NOT LIKE 'latency_%' GROUP BY metric`,
    [from, to, project],
  );
  return Object.fromEntries(rows.map((r) => [r.metric, r.value]));
}

/** Daily percentiles cannot be merged exactly; the window's value is their mean weighted by requests. */
async function latency(db: Queryable, project: string, from: string, to: string): Promise<z.output<typeof Latency>> {
  const { rows } = await db.query<{ p50: number | null; p95: number | null; p99: number | null }>(
    `SELECT ${weighted('p50')} AS p50, ${weighted('p95')} AS p95, ${weighted('p99')} AS p99
       FROM daily_rollups l JOIN daily_rollups r ON r.day = l.day AND r.project = l.project AND r.metric = 'requests'
      WHERE l.day BETWEEN $1::date AND $2::date AND l.project = $3 AND l.metric LIKE 'latency_p%'`,
    [from, to, project],
  );
  const r = rows[0];
  return { p50: r?.p50 ?? null, p95: r?.p95 ?? null, p99: r?.p99 ?? null };
}

async function activeUsers(db: Queryable, project: string, day: string): Promise<{ dau: number; mau: number }> {
  const { rows } = await db.query<{ dau: number; mau: number }>(
    `SELECT count(*) FILTER (WHERE day = $1::date)::float8 AS dau,
            count(DISTINCT user_id)::float8 AS mau
       FROM daily_active_users WHERE day > $1::date - 30 AND day <= $1::date AND project = $2`,
    [day, project],
  );
  return { dau: rows[0]?.dau ?? 0, mau: rows[0]?.mau ?? 0 };
}

/** Share of a day's users active again `gap` days later, over the cohorts of [from, to - gap]. */
async function retention(db: Queryable, project: string, from: string, to: string, gap: number): Promise<number | null> {
  const { rows } = await db.query<{ users: number; returned: number }>(
    `SELECT count(*)::float8 AS users, count(b.user_id)::float8 AS returned
       FROM daily_active_users a
       LEFT JOIN daily_active_users b ON b.day = a.day + $3::int AND b.project = a.project AND b.user_id = a.user_id
      WHERE a.day >= $1::date AND a.day <= $2::date - $3::int AND a.project = $4`,
    [from, to, gap, project],
  );
  return ratio(rows[0]?.returned ?? 0, rows[0]?.users ?? 0);
}

async function lastRollup(db: Queryable): Promise<string | null> {
  const { rows } = await db.query<{ at: string }>(`SELECT ${ISO('last_run_at')} AS at FROM job_runs WHERE job = 'rollup'`);
  return rows[0]?.at ?? null;
}

/** A project's analytics over the last `days` UTC days. */
async function analytics(db: Queryable, project: string, days: number): Promise<AnalyticsReply> {
  const now = new Date();
  const to = utcDay(now);
  const from = utcDay(new Date(now.getTime() - (days - 1) * DAY_MS));
  const s = await sums(db, project, from, to);
  const v = (m: string) => s[m] ?? 0;
  const [lat, users, r1, r7, features, daily, rolled] = await Promise.all([
    latency(db, project, from, to),
    activeUsers(db, project, to),
    retention(db, project, from, to, 1),
    retention(db, project, from, to, 7),
    db.query<{ feature: string; uses: number; users: number }>(
      `SELECT dimension AS feature,
              ${f8("sum(value::numeric) FILTER (WHERE metric = 'feature_uses')")} AS uses,
              ${f8("coalesce(sum(value::numeric) FILTER (WHERE metric = 'feature_users'), 0)")} AS users
         FROM daily_rollups WHERE day BETWEEN $1::date AND $2::date AND project = $3 AND metric IN ('feature_uses', 'feature_users')
        GROUP BY dimension ORDER BY uses DESC NULLS LAST LIMIT 50`,
      [from, to, project],
    ),
    db.query<{ day: string; events: number; active_users: number; sessions: number; requests: number; errors: number; p95: number | null }>(
      `SELECT day::text AS day,
              ${f8("coalesce(sum(value::numeric) FILTER (WHERE metric = 'events'), 0)")} AS events,
              ${f8("coalesce(sum(value::numeric) FILTER (WHERE metric = 'active_users'), 0)")} AS active_users,
              ${f8("coalesce(sum(value::numeric) FILTER (WHERE metric = 'sessions'), 0)")} AS sessions,
              ${f8("coalesce(sum(value::numeric) FILTER (WHERE metric = 'requests'), 0)")} AS requests,
              ${f8("coalesce(sum(value::numeric) FILTER (WHERE metric = 'request_errors'), 0)")} AS errors,
              ${f8("max(value::numeric) FILTER (WHERE metric = 'latency_p95_ms')")} AS p95
         FROM daily_rollups WHERE day BETWEEN $1::date AND $2::date AND project = $3 GROUP BY day ORDER BY day`,
      [from, to, project],
    ),
    lastRollup(db),
  ]);
  const dayCount = daily.rows.length;
  return {
    period: { from, to, days },
    summary: {
      events: v('events'),
      daily_active_users: users.dau,
      average_daily_active_users: dayCount > 0 ? v('active_users') / dayCount : null,
      monthly_active_users: users.mau,
      sessions: v('sessions'),
      session_duration_avg_seconds: ratio(v('session_duration_sum_s'), v('session_duration_count')),
      page_views: v('page_views'),
      satisfaction_avg: ratio(v('rating_sum'), v('rating_count')),
      ratings: v('rating_count'),
      retention_day_1: r1,
      retention_day_7: r7,
      requests: v('requests'),
      error_rate: ratio(v('request_errors'), v('requests')),
      latency_ms: lat,
      error_reports: v('error_reports'),
    },
    feature_usage: features.rows.map((f) => ({ feature: f.feature, uses: f.uses ?? 0, users: f.users })),
    daily: daily.rows.map((d) => ({
      day: d.day,
      events: d.events,
      active_users: d.active_users,
      sessions: d.sessions,
      error_rate: ratio(d.errors, d.requests),
      latency_p95_ms: d.p95,
    })),
    last_rollup_at: rolled,
    generated_at: now.toISOString(),
  };
}

/** The latest value of each KPI of a project, with its target and the mean of its other values of the last 7 days. */
async function latestKpis(db: Queryable, project: string) {
  return db.query<{ name: string; value: number; target: number | null; previous: number | null }>(
    `SELECT DISTINCT ON (name) name, value, target,
            (SELECT ${f8('avg(p.value::numeric)')} FROM business_metrics p
              WHERE p.project = b.project AND p.name = b.name AND p.id <> b.id AND p.ts > now() - interval '7 days') AS previous
       FROM business_metrics b WHERE project = $1 ORDER BY name, ts DESC, id DESC`,
    [project],
  );
}

/** A KPI's latest value on or before `days` days ago, and its mean over the last `days` days. */
async function kpiHistory(db: Queryable, project: string, name: string, days: number): Promise<{ before: number | null; mean: number | null }> {
  const { rows } = await db.query<{ before: number | null; mean: number | null }>(
    `SELECT (SELECT value FROM business_metrics WHERE project = $1 AND name = $2 AND ts <= now() - make_interval(days => $3)
              ORDER BY ts DESC, id DESC LIMIT 1) AS before,
            (SELECT ${f8('avg(value::numeric)')} FROM business_metrics WHERE project = $1 AND name = $2 AND ts > now() - make_interval(days => $3)) AS mean`,
    [project, name, days],
  );
  return { before: rows[0]?.before ?? null, mean: rows[0]?.mean ?? null };
}

/** Change from `before` to `now` as a share of `before`; null when either is unknown or `before` is 0. */
const growth = (now: number | null, before: number | null) => (now === null || before === null || before === 0 ? null : (now - before) / Math.abs(before));


/** Aggregates over the daily rollups, of the key's project only: analytics (read), business dashboard (admin), health (read); with Prometheus's figures where configured. */
export function registerAnalyticsRoutes(app: IngestApp, ctx: IngestContext): void {
  const errors = { '4xx': ErrorReply, '5xx': ErrorReply };
  const prom = ctx.prometheus;
  const onError = (err: PrometheusError, query: string) => app.log.warn({ error: err, 'prometheus.query': query }, 'prometheus query failed');

  app.get(
    '/api/v1/monitoring/analytics',
    {
      config: { scope: 'read' },
      schema: {
        querystring: z.strictObject({
          days: z.coerce.number().int().min(1).max(366).default(30),
          /** A service (`service` label): Prometheus's figures for it only; the database's are the project's. */
          component: ComponentParam.optional(),
          /** The window of Prometheus's rates and trends (`5m`, `1h`, `1d`). */
          window: WindowParam.optional(),
        }),
        response: { 200: Analytics, ...errors },
      },
    },
    async (request) => {
      const { days, component, window } = request.query;
      const scope = permittedComponent(request.principal!, component);
      const [a, ins] = await Promise.all([
        analytics(ctx.db, request.principal!.project, days),
        insightsFor(prom, scope, window ?? 3_600, onError),
      ]);
      return {
        ...a,
        summary: {
          ...a.summary,
          total_requests: ins.summary.total_requests,
          average_response_time: ins.summary.average_response_time,
          request_error_rate: ins.summary.error_rate,
          throughput_per_minute: ins.summary.throughput_per_minute,
        },
        ...analyticsInsights(ins),
      };
    },
  );

  app.get(
    '/api/v1/monitoring/business-dashboard',
    { config: { scope: 'admin' }, schema: { querystring: z.strictObject({}), response: { 200: BusinessDashboard, ...errors } } },
    async (request) => {
      const now = new Date();
      const project = request.principal!.project;
      const monthAgo = utcDay(new Date(now.getTime() - 30 * DAY_MS));
      const [latest, a, usersBefore, mrr, accuracy] = await Promise.all([
        latestKpis(ctx.db, project),
        analytics(ctx.db, project, 30),
        activeUsers(ctx.db, project, monthAgo),
        kpiHistory(ctx.db, project, 'monthly_recurring_revenue', 30),
        kpiHistory(ctx.db, project, 'model_accuracy', 30),
      ]);
      const s30 = await sums(ctx.db, project, a.period.from, a.period.to);
      // Entries, not assignments: a KPI stored under a name such as __proto__ stays a key like any other.
      const kpis: [string, number][] = [];
      const targets: [string, { current: number; target: number; achievement: number | null }][] = [];
      const trends: [string, 'increasing' | 'decreasing' | 'stable'][] = [];
      const kpi = new Map<string, number>();
      for (const k of latest.rows) {
        kpis.push([k.name, k.value]);
        kpi.set(k.name, k.value);
        if (k.target !== null) targets.push([k.name, { current: k.value, target: k.target, achievement: ratio(k.value, k.target) }]);
        const change = k.previous === null || k.previous === 0 ? 0 : (k.value - k.previous) / Math.abs(k.previous);
        trends.push([k.name, change > 0.05 ? 'increasing' : change < -0.05 ? 'decreasing' : 'stable']);
      }
      const sent = (name: string) => kpi.get(name) ?? null;
      const monthly = sent('monthly_recurring_revenue');
      const mau = a.summary.monthly_active_users;
      const arpu = sent('average_revenue_per_user') ?? (monthly === null ? null : ratio(monthly, mau));
      const churn = sent('churn_rate');
      const sessionSeconds = a.summary.session_duration_avg_seconds;
      const viewed = s30['viewed_sessions'] ?? 0;
      return {
        kpis: Object.fromEntries(kpis),
        targets: Object.fromEntries(targets),
        trends: Object.fromEntries(trends),
        user_metrics: {
          daily_active_users: a.summary.daily_active_users,
          monthly_active_users: mau,
          session_duration_avg_seconds: sessionSeconds,
          session_duration_avg: sessionSeconds === null ? null : sessionSeconds / 60,
          pages_per_session: ratio(s30['page_views'] ?? 0, viewed),
          bounce_rate: ratio(s30['bounced_sessions'] ?? 0, viewed),
          return_user_rate: a.summary.retention_day_1,
          satisfaction_avg: a.summary.satisfaction_avg,
        },
        revenue_metrics: {
          monthly_recurring_revenue: monthly,
          average_revenue_per_user: arpu,
          // Sent as a KPI, else the revenue of a user over the months a monthly churn rate gives them.
          customer_lifetime_value: sent('customer_lifetime_value') ?? (arpu !== null && churn !== null && churn > 0 ? arpu / churn : null),
        },
        growth_metrics: {
          user_growth_rate: growth(mau, usersBefore.mau > 0 ? usersBefore.mau : null),
          revenue_growth_rate: growth(monthly, mrr.before),
          market_penetration: sent('market_penetration'),
        },
        quality_metrics: {
          model_accuracy_avg: accuracy.mean,
          recommendation_relevance: sent('recommendation_relevance'),
          system_reliability: a.summary.error_rate === null ? null : 1 - a.summary.error_rate,
        },
        generated_at: now.toISOString(),
      };
    },
  );

  app.get(
    '/api/v1/monitoring/health',
    { config: { scope: 'read' }, schema: { querystring: z.strictObject({}), response: { 200: Health, ...errors } } },
    async (request) => {
      const principal = request.principal!;
      const project = principal.project;
      const started = performance.now();
      // Prometheus is asked while the database is: one slow upstream does not add to the other.
      let scope: ReturnType<typeof permittedComponent>;
      try {
        scope = permittedComponent(principal, undefined);
      } catch {
        // A key limited to several components: the nodes' figures, none of a service.
        scope = 'not_permitted';
      }
      const insights = insightsFor(prom, scope, 300, onError);
      const up = await ctx.db.ping(1_000);
      const dbLatency = up ? performance.now() - started : null;
      const base = {
        database: { status: up ? ('up' as const) : ('down' as const), latency_ms: dbLatency },
        queue: { depth: ctx.queue.depth, limit: ctx.config.queueMaxRows },
      };
      const today = utcDay(new Date());
      const [s, lat, alerts, rolled, ins, system] = await Promise.all([
        up ? sums(ctx.db, project, today, today) : ({} as Sums),
        up ? latency(ctx.db, project, today, today) : { p50: null, p95: null, p99: null },
        up
          ? ctx.db
              .query<{ id: number; alertname: string; severity: string | null; component: string | null; starts_at: string; acknowledged: boolean }>(
                `SELECT id::float8 AS id, alertname, severity, coalesce(labels->>'component', labels->>'service') AS component, ${ISO('starts_at')} AS starts_at,
                        (acknowledged_at IS NOT NULL AND (acknowledged_until IS NULL OR acknowledged_until > now())) AS acknowledged
                   FROM alerts WHERE project = $1 AND status = 'firing' ORDER BY starts_at DESC LIMIT 100`,
                [project],
              )
              .then((r) => r.rows)
          : [],
        up ? lastRollup(ctx.db) : null,
        insights,
        // The nodes' figures are the platform's, not a service's: every read key gets them.
        scope === 'not_permitted' && prom ? insightsFor(prom, { component: undefined }, 300, onError).then((i) => i.system_metrics) : undefined,
      ]);
      const errorRate = ratio(s['request_errors'] ?? 0, s['requests'] ?? 0);
      const critical = alerts.some((a) => !a.acknowledged && /^(critical|P1)$/i.test(a.severity ?? ''));
      const degraded = ctx.queue.depth > ctx.config.queueMaxRows / 2 || alerts.length > 0 || (errorRate ?? 0) > 0.05;
      const firing: Partial<Record<Severity, number>> = {};
      for (const a of alerts) {
        const level = severityLevel(a.severity);
        if (level && !a.acknowledged) firing[level] = (firing[level] ?? 0) + 1;
      }
      const systemMetrics = system ?? ins.system_metrics;
      const score = healthScore({
        ...healthInputsOf(ins),
        cpuPercent: systemMetrics.cpu_usage,
        memoryPercent: systemMetrics.memory_usage,
        diskPercent: systemMetrics.disk_usage,
        // The project's own alerts, as the history holds them: Prometheus's ALERTS are every project's.
        firingAlerts: up ? firing : null,
        databaseUp: up,
      });
      return {
        status: !up || critical ? ('unhealthy' as const) : degraded ? ('degraded' as const) : ('healthy' as const),
        ...base,
        today: {
          requests: s['requests'] ?? 0,
          error_rate: errorRate,
          latency_ms: lat,
          error_reports: s['error_reports'] ?? 0,
          events: s['events'] ?? 0,
        },
        active_alerts: alerts.map((a) => ({ ...a, alert_id: String(a.id), name: a.alertname, triggered_at: a.starts_at })),
        last_rollup_at: rolled,
        overall_health_score: score,
        system_metrics: systemMetrics,
        recent_performance: {
          total_requests: ins.summary.total_requests,
          requests_per_minute: ins.summary.throughput_per_minute,
          error_count: ins.summary.error_count,
          performance_average: ins.summary.average_response_time,
        },
        monitoring_status: {
          prometheus: ins.source.prometheus,
          targets_up: ins.monitoring.targets_up,
          targets_total: ins.monitoring.targets_total,
          background_tasks_running: rolled !== null && Date.now() - Date.parse(rolled) < 2 * 3_600_000,
        },
        timestamp: new Date().toISOString(),
      };
    },
  );
}

/** The health score's inputs Prometheus gave, but its alerts (every project's) and the nodes' (the caller's). */
function healthInputsOf(ins: Insights) {
  const { errorRate, latencyP95Ms, latencyObjectiveMs } = ins.health_inputs;
  return { errorRate, latencyP95Ms, ...(latencyObjectiveMs !== undefined ? { latencyObjectiveMs } : {}) };
}
