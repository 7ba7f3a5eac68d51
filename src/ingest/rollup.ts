import type { Database, Queryable } from './db.js';

const DAY_MS = 86_400_000;
/** The bounds POST /api/v1/events puts on a request's duration and a session's length. */
const MAX_DURATION_MS = 86_400_000;
const MAX_SESSION_S = 7 * 86_400;

/** A property as numeric when it is a JSON number, else null; the CASE keeps the cast from ever seeing a string. */
const jsonNumber = (key: string) => `CASE WHEN jsonb_typeof(properties->'${key}') = 'number' THEN (properties->'${key}')::numeric END`;

/** `YYYY-MM-DD` of a UTC day. */
export const utcDay = (d: Date) => d.toISOString().slice(0, 10);

/**
 * Aggregates one UTC day of raw events into `daily_rollups` and
 * `daily_active_users`. Idempotent: the day's rows are replaced, so the job
 * can run every hour over today and yesterday.
 */
export async function rollupDay(tx: Queryable, day: string): Promise<void> {
  const from = `${day}T00:00:00Z`;
  const to = new Date(Date.parse(from) + DAY_MS).toISOString();
  await tx.query('DELETE FROM daily_rollups WHERE day = $1::date', [day]);
  await tx.query('DELETE FROM daily_active_users WHERE day = $1::date', [day]);
  await tx.query(
    `INSERT INTO daily_active_users (day, user_id)
     SELECT DISTINCT $1::date, user_id FROM events
      WHERE ts >= $2::timestamptz AND ts < $3::timestamptz AND user_id IS NOT NULL`,
    [day, from, to],
  );
  // Sums and counts rather than averages, so that any window of days can be combined exactly. A property is read
  // only as a JSON number within the range the API accepts (numeric first: jsonb holds numbers float8 cannot), so
  // rows stored before a bound existed, or by other writers, cannot overflow a sum or a percentile.
  await tx.query(
    `WITH e AS (SELECT * FROM events WHERE ts >= $2::timestamptz AND ts < $3::timestamptz),
          p AS (SELECT type, user_id, properties,
                       ${jsonNumber('duration_ms')} AS ms, ${jsonNumber('status')} AS status,
                       ${jsonNumber('duration_seconds')} AS seconds, ${jsonNumber('rating')} AS rating
                  FROM e WHERE type IN ('request', 'session_end', 'conversation_rated')),
          req AS (SELECT ms::float8 AS ms, status FROM p
                   WHERE type = 'request' AND ms BETWEEN 0 AND ${MAX_DURATION_MS} AND status BETWEEN 100 AND 599),
          sess AS (SELECT seconds::float8 AS s FROM p WHERE type = 'session_end' AND seconds BETWEEN 0 AND ${MAX_SESSION_S}),
          rated AS (SELECT rating::float8 AS r FROM p WHERE type = 'conversation_rated' AND rating BETWEEN 1 AND 5)
     INSERT INTO daily_rollups (day, metric, dimension, value)
     SELECT $1::date, metric, dimension, value FROM (
       SELECT 'events' AS metric, type AS dimension, count(*)::float8 AS value FROM e GROUP BY type
       UNION ALL SELECT 'active_users', '', count(*)::float8 FROM daily_active_users WHERE day = $1::date
       UNION ALL SELECT 'sessions', '', count(*)::float8 FROM e WHERE type = 'session_start'
       UNION ALL SELECT 'session_duration_sum_s', '', coalesce(sum(s), 0) FROM sess
       UNION ALL SELECT 'session_duration_count', '', count(*)::float8 FROM sess
       UNION ALL SELECT 'page_views', '', count(*)::float8 FROM e WHERE type = 'page_view'
       UNION ALL SELECT 'feature_uses', properties->>'feature', count(*)::float8 FROM e
                  WHERE type = 'feature_used' AND properties ? 'feature' GROUP BY properties->>'feature'
       UNION ALL SELECT 'feature_users', properties->>'feature', count(DISTINCT user_id)::float8 FROM e
                  WHERE type = 'feature_used' AND properties ? 'feature' GROUP BY properties->>'feature'
       UNION ALL SELECT 'rating_count', '', count(*)::float8 FROM rated
       UNION ALL SELECT 'rating_sum', '', coalesce(sum(r), 0) FROM rated
       UNION ALL SELECT 'requests', '', count(*)::float8 FROM req
       UNION ALL SELECT 'request_errors', '', count(*)::float8 FROM req WHERE status >= 500
       UNION ALL SELECT 'latency_p50_ms', '', percentile_cont(0.5) WITHIN GROUP (ORDER BY ms) FROM req HAVING count(*) > 0
       UNION ALL SELECT 'latency_p95_ms', '', percentile_cont(0.95) WITHIN GROUP (ORDER BY ms) FROM req HAVING count(*) > 0
       UNION ALL SELECT 'latency_p99_ms', '', percentile_cont(0.99) WITHIN GROUP (ORDER BY ms) FROM req HAVING count(*) > 0
       UNION ALL SELECT 'error_reports', '', count(*)::float8 FROM error_events
                  WHERE ts >= $2::timestamptz AND ts < $3::timestamptz
     ) AS r WHERE value IS NOT NULL AND dimension IS NOT NULL`,
    [day, from, to],
  );
}

/**
 * Advisory lock (transaction-scoped) around every rewrite of a day's rollups: the rollup's and
 * an erasure's. Two rewrites of one day at once would both delete and then both insert its rows.
 */
export const ROLLUP_LOCK = 727_275;

/** Rolls up one day under ROLLUP_LOCK, in the caller's transaction. */
export async function rollupDayLocked(tx: Queryable, day: string): Promise<void> {
  await tx.query('SELECT pg_advisory_xact_lock($1)', [ROLLUP_LOCK]);
  await rollupDay(tx, day);
}

/** Rolls up the last `days` UTC days (today included), each in its own transaction. */
export async function runRollup(db: Database, opts: { days: number; now?: Date }): Promise<{ days: string[] }> {
  const now = opts.now ?? new Date();
  const days: string[] = [];
  for (let i = opts.days - 1; i >= 0; i--) days.push(utcDay(new Date(now.getTime() - i * DAY_MS)));
  for (const day of days) await db.transaction((tx) => rollupDayLocked(tx, day));
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
