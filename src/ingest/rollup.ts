import type { Database, Queryable } from './db.js';

const DAY_MS = 86_400_000;

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
  // Sums and counts rather than averages, so that any window of days can be combined exactly.
  await tx.query(
    `WITH e AS (SELECT * FROM events WHERE ts >= $2::timestamptz AND ts < $3::timestamptz),
          req AS (SELECT (properties->>'duration_ms')::float8 AS ms, (properties->>'status')::int AS status
                    FROM e WHERE type = 'request' AND jsonb_typeof(properties->'duration_ms') = 'number'
                     AND jsonb_typeof(properties->'status') = 'number')
     INSERT INTO daily_rollups (day, metric, dimension, value)
     SELECT $1::date, metric, dimension, value FROM (
       SELECT 'events' AS metric, type AS dimension, count(*)::float8 AS value FROM e GROUP BY type
       UNION ALL SELECT 'active_users', '', count(*)::float8 FROM daily_active_users WHERE day = $1::date
       UNION ALL SELECT 'sessions', '', count(*)::float8 FROM e WHERE type = 'session_start'
       UNION ALL SELECT 'session_duration_sum_s', '', coalesce(sum((properties->>'duration_seconds')::float8), 0) FROM e
                  WHERE type = 'session_end' AND jsonb_typeof(properties->'duration_seconds') = 'number'
       UNION ALL SELECT 'session_duration_count', '', count(*)::float8 FROM e
                  WHERE type = 'session_end' AND jsonb_typeof(properties->'duration_seconds') = 'number'
       UNION ALL SELECT 'page_views', '', count(*)::float8 FROM e WHERE type = 'page_view'
       UNION ALL SELECT 'feature_uses', properties->>'feature', count(*)::float8 FROM e
                  WHERE type = 'feature_used' AND properties ? 'feature' GROUP BY properties->>'feature'
       UNION ALL SELECT 'feature_users', properties->>'feature', count(DISTINCT user_id)::float8 FROM e
                  WHERE type = 'feature_used' AND properties ? 'feature' GROUP BY properties->>'feature'
       UNION ALL SELECT 'rating_count', '', count(*)::float8 FROM e
                  WHERE type = 'conversation_rated' AND jsonb_typeof(properties->'rating') = 'number'
       UNION ALL SELECT 'rating_sum', '', coalesce(sum((properties->>'rating')::float8), 0) FROM e
                  WHERE type = 'conversation_rated' AND jsonb_typeof(properties->'rating') = 'number'
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

/** Rolls up the last `days` UTC days (today included), each in its own transaction. */
export async function runRollup(db: Database, opts: { days: number; now?: Date }): Promise<{ days: string[] }> {
  const now = opts.now ?? new Date();
  const days: string[] = [];
  for (let i = opts.days - 1; i >= 0; i--) days.push(utcDay(new Date(now.getTime() - i * DAY_MS)));
  for (const day of days) await db.transaction((tx) => rollupDay(tx, day));
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
