import { z } from 'zod';
import type { IngestApp, IngestContext } from '../context.js';
import { commitErrorReports, errorService } from '../error-groups.js';
import { fingerprint } from '../fingerprint.js';
import { ErrorReply, oneOrMany, recentTimestamp, text, textRecord, timestamp } from '../http/schemas.js';
import { QueueRefusedError } from '../write-queue.js';

/** One error report as a client sends it; its time within the retention period of `maxAgeDays`, as an event's. */
const errorReport = (maxAgeDays: number) => z.strictObject({
  /** Stored once: a client retrying after a lost answer does not store the report twice. */
  event_id: z.uuid().optional(),
  type: text(256).min(1),
  message: text(8_192),
  stack: text(65_536).optional(),
  level: z.enum(['fatal', 'error', 'warning', 'info', 'debug']).default('error'),
  release: text(128).optional(),
  environment: text(64).optional(),
  user_id: text(256).min(1).optional(),
  tags: textRecord(64, 256, { names: true }).optional(),
  timestamp: recentTimestamp(maxAgeDays).optional(),
});
type ErrorReport = ReturnType<typeof errorReport>;
export type ErrorReportInput = z.input<ErrorReport>;

const Stored = z.strictObject({ success: z.literal(true), accepted: z.number().int(), fingerprints: z.array(z.string()), request_id: z.string() });

const Group = z.strictObject({
  fingerprint: z.string(),
  type: z.string(),
  message: z.string(),
  level: z.string(),
  count: z.number(),
  users: z.number(),
  first_seen: z.string(),
  last_seen: z.string(),
  releases: z.array(z.string()),
});

const ListQuery = z.strictObject({
  since: timestamp.optional(),
  release: text(128).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(50),
});

/** A stored error report as a row of `error_events`, in the project of the key that sent it. */
export function errorRow(e: z.output<ErrorReport>, actor: string, project: string, now: string): unknown[] {
  return [
    fingerprint(e.type, e.message, e.stack),
    e.type,
    e.message,
    e.stack ?? null,
    e.release ?? null,
    e.environment ?? null,
    e.level,
    e.user_id ?? null,
    e.tags ?? {},
    e.timestamp ?? now,
    actor,
    e.event_id ?? null,
    project,
  ];
}

/** Error tracking: reports in, groups by fingerprint out. */
export function registerErrorRoutes(app: IngestApp, ctx: IngestContext): void {
  app.post(
    '/api/v1/errors',
    {
      config: { scope: 'ingest' },
      schema: { body: oneOrMany(errorReport(ctx.config.retentionDays), 'errors', 100), response: { 200: Stored, '4xx': ErrorReply, '5xx': ErrorReply } },
    },
    async (request) => {
      if (ctx.state.closing) throw new QueueRefusedError('closed');
      const { name: actor, project } = request.principal!;
      const now = new Date().toISOString();
      const rows = request.body.map((e) => errorRow(e, actor, project, now));
      const reports = rows.map((row, i) => ({ row, service: errorService(request.body[i]!.tags, actor) }));
      await commitErrorReports(ctx, request, reports, { action: 'errors.report', resourceType: 'error_events', metadata: { count: rows.length } });
      return { success: true as const, accepted: rows.length, fingerprints: rows.map((r) => r[0] as string), request_id: request.id };
    },
  );

  app.get(
    '/api/v1/errors',
    {
      config: { scope: 'read' },
      schema: { querystring: ListQuery, response: { 200: z.strictObject({ groups: z.array(Group) }), '4xx': ErrorReply, '5xx': ErrorReply } },
    },
    async (request) => {
      const q = request.query;
      const { rows } = await ctx.db.query<z.output<typeof Group>>(
        `SELECT fingerprint,
                (array_agg(type ORDER BY ts DESC))[1] AS type,
                (array_agg(message ORDER BY ts DESC))[1] AS message,
                (array_agg(level ORDER BY ts DESC))[1] AS level,
                count(*)::float8 AS count,
                count(DISTINCT user_id)::float8 AS users,
                to_char(min(ts) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS first_seen,
                to_char(max(ts) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS last_seen,
                coalesce(array_agg(DISTINCT release) FILTER (WHERE release IS NOT NULL), '{}') AS releases
           FROM error_events
          WHERE project = $4
            AND ($1::timestamptz IS NULL OR ts >= $1::timestamptz)
            AND ($2::text IS NULL OR release = $2::text)
          GROUP BY fingerprint
          ORDER BY max(ts) DESC
          LIMIT $3`,
        [q.since ?? null, q.release ?? null, q.limit, request.principal!.project],
      );
      return { groups: rows };
    },
  );
}
