import type { Database, Queryable } from './db.js';

const DAY_MS = 86_400_000;
/** The bounds POST /api/v1/events puts on a request's duration and a session's length. */
const MAX_DURATION_MS = 86_400_000;
const MAX_SESSION_S = 7 * 86_400;

/** A property as numeric when it is a JSON number, else null; the CASE keeps the cast from ever seeing a string. */
const jsonNumber = (key: string) => `CASE WHEN jsonb_typeof(properties->'${key}') = 'number' THEN (properties->'${key}')::numeric END`;

/** `YYYY-MM-DD` of a UTC day. */
export const utcDay = (d: Date) => d.toISOString().slice(0, 10);

/** Which projects a rollup of a day covers. */
export interface RollupScope {
  /** Only this project's rows are rewritten (an erasure's recomputation); absent, every project's. */
  readonly project?: string;
  /**
   * Projects that get their day's rows even without data that day (zero counts), as every day
   * rolled up before projects existed did; a project with data that day gets them in any case.
   * @default - `[project]` when `project` is given, else none
   */
  readonly projects?: readonly string[];
}

/**
 * Aggregates one UTC day of raw events into `daily_rollups` and
 * `daily_active_users`, per project: every figure of a project counts that
 * project's rows only. Idempotent: the day's rows (of `scope.project`, or of
 * every project) are replaced, so the job can run every hour over today and
 * yesterday.
 */
export async function rollupDay(tx: Queryable, day: string, scope: RollupScope = {}): Promise<void> {
  const from = `${day}T00:00:00Z`;
  const to = new Date(Date.parse(from) + DAY_MS).toISOString();
  const only = scope.project;
  const projects = scope.projects ?? (only === undefined ? [] : [only]);
  // One project, or all: the filter is in the text (`only` is the last parameter), so that no plan has to allow for a null.
  const mine = (n: number) => (only === undefined ? '' : `AND project = $${n}`);
  const withOnly = (...params: unknown[]) => (only === undefined ? params : [...params, only]);
  await tx.query(`DELETE FROM daily_rollups WHERE day = $1::date ${mine(2)}`, withOnly(day));
  await tx.query(`DELETE FROM daily_active_users WHERE day = $1::date ${mine(2)}`, withOnly(day));
  await tx.query(
    `INSERT INTO daily_active_users (day, project, user_id)
     SELECT DISTINCT $1::date, project, user_id FROM events
      WHERE ts >= $2::timestamptz AND ts < $3::timestamptz AND user_id IS NOT NULL ${mine(4)}`,
    withOnly(day, from, to),
  );
  // Sums and counts rather than averages, so that any window of days can be combined exactly. A property is read
  // only as a JSON number within the range the API accepts (numeric first: jsonb holds numbers float8 cannot), so
  // rows stored before a bound existed, or by other writers, cannot overflow a sum or a percentile. Each table is
  // read once and aggregated by project; the figures of one row per project are then spread into one row each.
  await tx.query(
    `WITH e AS (SELECT project, type, user_id, session_id, properties FROM events WHERE ts >= $2::timestamptz AND ts < $3::timestamptz ${mine(5)}),
          p AS (SELECT project, type,
                       ${jsonNumber('duration_ms')} AS ms, ${jsonNumber('status')} AS status,
                       ${jsonNumber('duration_seconds')} AS seconds, ${jsonNumber('rating')} AS rating
                  FROM e WHERE type IN ('request', 'session_end', 'conversation_rated')),
          req AS (SELECT project, ms::float8 AS ms, status FROM p
                   WHERE type = 'request' AND ms BETWEEN 0 AND ${MAX_DURATION_MS} AND status BETWEEN 100 AND 599),
          sess AS (SELECT project, seconds::float8 AS s FROM p WHERE type = 'session_end' AND seconds BETWEEN 0 AND ${MAX_SESSION_S}),
          rated AS (SELECT project, rating::float8 AS r FROM p WHERE type = 'conversation_rated' AND rating BETWEEN 1 AND 5),
          counted AS (SELECT project, count(*) FILTER (WHERE type = 'session_start')::float8 AS sessions,
                             count(*) FILTER (WHERE type = 'page_view')::float8 AS page_views
                        FROM e GROUP BY project),
          requests AS (SELECT project, count(*)::float8 AS n, count(*) FILTER (WHERE status >= 500)::float8 AS errors,
                              percentile_cont(0.5) WITHIN GROUP (ORDER BY ms) AS p50,
                              percentile_cont(0.95) WITHIN GROUP (ORDER BY ms) AS p95,
                              percentile_cont(0.99) WITHIN GROUP (ORDER BY ms) AS p99
                         FROM req GROUP BY project),
          sessions AS (SELECT project, sum(s) AS total, count(*)::float8 AS n FROM sess GROUP BY project),
          viewed AS (SELECT project, count(*)::float8 AS n, count(*) FILTER (WHERE views = 1)::float8 AS bounced
                       FROM (SELECT project, session_id, count(*) AS views FROM e
                              WHERE type = 'page_view' AND session_id IS NOT NULL GROUP BY project, session_id) AS v
                      GROUP BY project),
          ratings AS (SELECT project, sum(r) AS total, count(*)::float8 AS n FROM rated GROUP BY project),
          reports AS (SELECT project, count(*)::float8 AS n FROM error_events
                       WHERE ts >= $2::timestamptz AND ts < $3::timestamptz ${mine(5)} GROUP BY project),
          active AS (SELECT project, count(*)::float8 AS n FROM daily_active_users WHERE day = $1::date ${mine(5)} GROUP BY project),
          projects AS (SELECT unnest($4::text[]) AS project UNION SELECT project FROM counted UNION SELECT project FROM reports)
     INSERT INTO daily_rollups (day, project, metric, dimension, value)
     SELECT $1::date, project, metric, dimension, value FROM (
       SELECT project, 'events' AS metric, type AS dimension, count(*)::float8 AS value FROM e GROUP BY project, type
       UNION ALL SELECT project, 'feature_uses', properties->>'feature', count(*)::float8 FROM e
                  WHERE type = 'feature_used' AND properties ? 'feature' GROUP BY project, properties->>'feature'
       UNION ALL SELECT project, 'feature_users', properties->>'feature', count(DISTINCT user_id)::float8 FROM e
                  WHERE type = 'feature_used' AND properties ? 'feature' GROUP BY project, properties->>'feature'
       UNION ALL SELECT project, v.metric, '', v.value
         FROM projects
         LEFT JOIN counted c USING (project) LEFT JOIN requests q USING (project) LEFT JOIN sessions s USING (project)
         LEFT JOIN ratings rt USING (project) LEFT JOIN reports er USING (project) LEFT JOIN active a USING (project)
         LEFT JOIN viewed vw USING (project)
         CROSS JOIN LATERAL (VALUES
           ('active_users', coalesce(a.n, 0)),
           ('sessions', coalesce(c.sessions, 0)),
           ('session_duration_sum_s', coalesce(s.total, 0)),
           ('session_duration_count', coalesce(s.n, 0)),
           ('page_views', coalesce(c.page_views, 0)),
           -- Sessions with a page view, and those with exactly one (a bounce): pages per session and the bounce rate.
           ('viewed_sessions', coalesce(vw.n, 0)),
           ('bounced_sessions', coalesce(vw.bounced, 0)),
           ('rating_count', coalesce(rt.n, 0)),
           ('rating_sum', coalesce(rt.total, 0)),
           ('requests', coalesce(q.n, 0)),
           ('request_errors', coalesce(q.errors, 0)),
           ('latency_p50_ms', q.p50),
           ('latency_p95_ms', q.p95),
           ('latency_p99_ms', q.p99),
           ('error_reports', coalesce(er.n, 0))
         ) AS v(metric, value)
     ) AS r WHERE value IS NOT NULL AND dimension IS NOT NULL`,
    withOnly(day, from, to, projects),
  );
}

/**
 * Advisory lock (transaction-scoped) around every rewrite of a day's rollups: the rollup's and
 * an erasure's. Two rewrites of one day at once would both delete and then both insert its rows.
 */
export const ROLLUP_LOCK = 727_275;

/** Rolls up one day under ROLLUP_LOCK, in the caller's transaction. */
export async function rollupDayLocked(tx: Queryable, day: string, scope: RollupScope = {}): Promise<void> {
  await tx.query('SELECT pg_advisory_xact_lock($1)', [ROLLUP_LOCK]);
  await rollupDay(tx, day, scope);
}

/**
 * Rolls up the last `days` UTC days (today included), each in its own
 * transaction, for every project; `projects` (the projects of the API keys)
 * get their rows on a day without data too.
 */
export async function runRollup(db: Database, opts: { days: number; now?: Date; projects?: readonly string[] }): Promise<{ days: string[] }> {
  const now = opts.now ?? new Date();
  const days: string[] = [];
  for (let i = opts.days - 1; i >= 0; i--) days.push(utcDay(new Date(now.getTime() - i * DAY_MS)));
  const scope = { projects: opts.projects ?? [] };
  for (const day of days) await db.transaction((tx) => rollupDayLocked(tx, day, scope));
  await recordJobRun(db, 'rollup', { days });
  return { days };
}

export async function recordJobRun(db: Queryable, job: string, details: Record<string, unknown>): Promise<void> {
  await db.query(
    `INSERT INTO job_runs (job, last_run_at, details) VALUES ($1, now(), $2::jsonb)
     ON CONFLICT (job) DO UPDATE SET last_run_at = excluded.last_run_at, details = excluded.details`,
    [job, JSON.stringify(details)],
  );
}
