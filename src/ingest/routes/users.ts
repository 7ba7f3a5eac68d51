import { createHash, createHmac } from 'node:crypto';
import { z } from 'zod';
import { auditRow, logAudit, principalFacts, requestFacts } from '../audit.js';
import type { IngestApp, IngestContext } from '../context.js';
import type { Queryable } from '../db.js';
import { ErrorReply, text } from '../http/schemas.js';
import { ROLLUP_LOCK, rollupDayLocked, utcDay } from '../rollup.js';
import { insertRows } from '../write-queue.js';

const Erased = z.strictObject({
  success: z.literal(true),
  deleted: z.strictObject({ events: z.number(), error_events: z.number(), daily_active_users: z.number() }),
  /** Rows of other tables (other users' events, error reports, audit rows, …) whose text named the user. */
  anonymised: z.number(),
  /** Days whose rollups were recomputed without the user. */
  rollup_days: z.number(),
  request_id: z.string(),
});

/**
 * The erasure key of the embedded mode on a developer's machine, and of
 * apps built without one (tests). loadConfig refuses it with DATABASE_URL or
 * NODE_ENV=production: whoever knows it could test guessed ids against the
 * audit log.
 */
export const DEVELOPMENT_ERASURE_KEY = 'obstack-ingest-development-erasure-key-not-secret';

/**
 * The digest an erasure keeps of a user's id instead of the id:
 * HMAC-SHA256 keyed with INGEST_ERASURE_KEY. Whoever holds the key and the id
 * can prove the erasure (recompute it and find the audit row); the digest
 * alone cannot be reversed by hashing guessed ids.
 */
export const userDigest = (id: string, key: string = DEVELOPMENT_ERASURE_KEY) =>
  `hmac-sha256:${createHmac('sha256', key).update(id, 'utf8').digest('hex')}`;

/** The unkeyed digest earlier versions stored; an erasure re-keys the rows that still hold it. */
const legacyDigest = (id: string) => `sha256:${createHash('sha256').update(id).digest('hex')}`;

/** Columns deleted with the row when they equal the user's id. */
export const USER_ROWS = [
  { table: 'events', column: 'user_id' },
  { table: 'error_events', column: 'user_id' },
  { table: 'daily_active_users', column: 'user_id' },
] as const;

/**
 * Columns of other rows whose free text or JSON may name the user (another
 * user's event properties, an error message, an alert label, an audit row's
 * metadata): each occurrence of the id as a whole token, in a string, a JSON
 * value or a JSON key, becomes `[erased]`.
 */
export const SCRUBBED: readonly { table: string; key: string; column: string; kind: 'text' | 'jsonb' }[] = [
  { table: 'events', key: 'id', column: 'session_id', kind: 'text' },
  { table: 'events', key: 'id', column: 'properties', kind: 'jsonb' },
  { table: 'error_events', key: 'id', column: 'message', kind: 'text' },
  { table: 'error_events', key: 'id', column: 'stack', kind: 'text' },
  { table: 'error_events', key: 'id', column: 'release', kind: 'text' },
  { table: 'error_events', key: 'id', column: 'environment', kind: 'text' },
  { table: 'error_events', key: 'id', column: 'type', kind: 'text' },
  { table: 'error_events', key: 'id', column: 'tags', kind: 'jsonb' },
  { table: 'error_groups', key: 'fingerprint', column: 'type', kind: 'text' },
  { table: 'error_groups', key: 'fingerprint', column: 'culprit', kind: 'text' },
  { table: 'error_groups', key: 'fingerprint', column: 'service', kind: 'text' },
  { table: 'business_metrics', key: 'id', column: 'dimension', kind: 'text' },
  { table: 'business_metrics', key: 'id', column: 'metadata', kind: 'jsonb' },
  { table: 'alerts', key: 'id', column: 'labels', kind: 'jsonb' },
  { table: 'alerts', key: 'id', column: 'annotations', kind: 'jsonb' },
  { table: 'alerts', key: 'id', column: 'generator_url', kind: 'text' },
  { table: 'alerts', key: 'id', column: 'acknowledged_reason', kind: 'text' },
  { table: 'audit_log', key: 'id', column: 'resource_id', kind: 'text' },
  { table: 'audit_log', key: 'id', column: 'reason', kind: 'text' },
  { table: 'audit_log', key: 'id', column: 'user_agent', kind: 'text' },
  { table: 'audit_log', key: 'id', column: 'user_id', kind: 'text' },
  { table: 'audit_log', key: 'id', column: 'session_id', kind: 'text' },
  { table: 'audit_log', key: 'id', column: 'compliance_tags', kind: 'jsonb' },
  { table: 'audit_log', key: 'id', column: 'metadata', kind: 'jsonb' },
];

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

/**
 * Replaces each whole-token occurrence of `id` in strings (and JSON keys)
 * with `[erased]`. A token is not part of a longer word or number: erasing
 * `42` leaves `1420` alone.
 */
export function scrubber(id: string): (value: unknown) => unknown {
  const token = new RegExp(`(?<![\\p{L}\\p{N}_])${escapeRegExp(id)}(?![\\p{L}\\p{N}_])`, 'gu');
  const scrub = (v: unknown): unknown => {
    if (typeof v === 'string') return v.includes(id) ? v.replace(token, '[erased]') : v;
    if (Array.isArray(v)) return v.map(scrub);
    if (v !== null && typeof v === 'object') {
      return Object.fromEntries(Object.entries(v as Record<string, unknown>).map(([k, x]) => [scrub(k) as string, scrub(x)]));
    }
    return v;
  };
  return scrub;
}

/** Rewrites the occurrences of the id in SCRUBBED, in the project's rows only; returns the number of rows changed. */
async function scrubOthers(tx: Queryable, project: string, id: string): Promise<number> {
  const scrub = scrubber(id);
  const inJson = JSON.stringify(id).slice(1, -1);
  let changed = 0;
  for (const p of SCRUBBED) {
    const { rows } = await tx.query<{ k: unknown; v: unknown }>(
      `SELECT ${p.key} AS k, ${p.column} AS v FROM ${p.table} WHERE project = $2 AND strpos(${p.column}::text, $1) > 0`,
      [p.kind === 'jsonb' ? inJson : id, project],
    );
    for (const row of rows) {
      const value = p.kind === 'jsonb' && typeof row.v === 'string' ? (JSON.parse(row.v) as unknown) : row.v;
      const next = scrub(value);
      if (JSON.stringify(next) === JSON.stringify(value)) continue;
      await tx.query(
        `UPDATE ${p.table} SET ${p.column} = $2${p.kind === 'jsonb' ? '::jsonb' : ''} WHERE ${p.key} = $1 AND project = $3`,
        [row.k, p.kind === 'jsonb' ? JSON.stringify(next) : next, project],
      );
      changed++;
    }
  }
  return changed;
}

/**
 * Takes the user out of the daily rollups. A day whose raw events are all
 * still kept (after the retention cutoff) and that was rolled up is rolled
 * up again without the user, under the rollup's lock, so every figure is
 * what the rollup would compute had the user never existed. On the day the
 * retention cutoff cuts through, only the distinct-user figures
 * (`active_users`, `feature_users`) lose the user; its other counts stay as
 * anonymous totals, as do those of older days, whose raw events are gone.
 */
async function forgetInRollups(tx: Queryable, project: string, id: string, retentionDays: number, now: Date): Promise<{ recompute: string[]; adjust: (tx: Queryable) => Promise<void> }> {
  const { rows } = await tx.query<{ day: string }>(
    `SELECT DISTINCT d::text AS day FROM (
       SELECT (ts AT TIME ZONE 'UTC')::date AS d FROM events WHERE project = $2 AND user_id = $1
       UNION SELECT (ts AT TIME ZONE 'UTC')::date FROM error_events WHERE project = $2 AND user_id = $1
       UNION SELECT day FROM daily_active_users WHERE project = $2 AND user_id = $1) AS days
     WHERE EXISTS (SELECT 1 FROM daily_rollups r WHERE r.day = days.d AND r.project = $2)`,
    [id, project],
  );
  const complete = utcDay(new Date(now.getTime() - retentionDays * 86_400_000 + 86_400_000));
  const days = rows.map((r) => r.day.slice(0, 10));
  const recompute = days.filter((d) => d >= complete);
  const partial = days.filter((d) => d < complete);
  if (partial.length === 0) return { recompute, adjust: async () => {} };
  // What the user counted for on those days, read before their rows go.
  const active = (
    await tx.query<{ day: string }>('SELECT day::text AS day FROM daily_active_users WHERE project = $3 AND user_id = $1 AND day = ANY($2::date[])', [id, partial, project])
  ).rows;
  const features = (
    await tx.query<{ day: string; feature: string }>(
      `SELECT DISTINCT (ts AT TIME ZONE 'UTC')::date::text AS day, properties->>'feature' AS feature FROM events
        WHERE project = $3 AND user_id = $1 AND type = 'feature_used' AND properties ? 'feature' AND (ts AT TIME ZONE 'UTC')::date = ANY($2::date[])`,
      [id, partial, project],
    )
  ).rows;
  return {
    recompute,
    adjust: async (t) => {
      await t.query('SELECT pg_advisory_xact_lock($1)', [ROLLUP_LOCK]);
      for (const a of active) {
        await t.query(`UPDATE daily_rollups SET value = greatest(value - 1, 0) WHERE day = $1::date AND project = $2 AND metric = 'active_users' AND dimension = ''`, [a.day, project]);
      }
      for (const f of features) {
        await t.query(
          `UPDATE daily_rollups SET value = greatest(value - 1, 0) WHERE day = $1::date AND project = $3 AND metric = 'feature_users' AND dimension = $2`,
          [f.day, f.feature, project],
        );
      }
    },
  };
}

/**
 * GDPR erasure of one user of the key's project (user ids are per project: the same id in another project is
 * another person, left alone): their rows deleted, their id taken out of every other row of the project and of
 * its rollups, in one transaction.
 */
export function registerUserRoutes(app: IngestApp, ctx: IngestContext): void {
  const key = ctx.config.erasureKey ?? DEVELOPMENT_ERASURE_KEY;
  app.delete(
    '/api/v1/users/:id/data',
    {
      config: { scope: 'admin' },
      schema: { params: z.strictObject({ id: text(256).min(1) }), response: { 200: Erased, '4xx': ErrorReply, '5xx': ErrorReply } },
    },
    async (request) => {
      const id = request.params.id;
      const project = request.principal!.project;
      // Rows already accepted for this user are committed first, so none lands after the erasure.
      await ctx.queue.drain();
      const digest = userDigest(id, key);
      const entry = {
        ...principalFacts(request),
        action: 'user.erase',
        resourceType: 'user',
        resourceId: digest,
        outcome: 'success' as const,
        ...requestFacts(request),
      };
      const result = await ctx.db.transaction(async (tx) => {
        const rollups = await forgetInRollups(tx, project, id, ctx.config.retentionDays, new Date());
        const deleted = {
          events: (await tx.query('DELETE FROM events WHERE project = $2 AND user_id = $1', [id, project])).rowCount,
          error_events: (await tx.query('DELETE FROM error_events WHERE project = $2 AND user_id = $1', [id, project])).rowCount,
          daily_active_users: (await tx.query('DELETE FROM daily_active_users WHERE project = $2 AND user_id = $1', [id, project])).rowCount,
        };
        const anonymised = await scrubOthers(tx, project, id);
        await rollups.adjust(tx);
        for (const day of rollups.recompute) await rollupDayLocked(tx, day, { project });
        await tx.query(`UPDATE audit_log SET resource_id = $1 WHERE project = $3 AND resource_type = 'user' AND resource_id = $2`, [digest, legacyDigest(id), project]);
        const summary = { deleted, anonymised, rollup_days: rollups.recompute.length };
        await insertRows(tx, 'audit_log', [auditRow({ ...entry, metadata: summary })]);
        return summary;
      });
      logAudit(request.log, { ...entry, metadata: result });
      return { success: true as const, ...result, request_id: request.id };
    },
  );
}
