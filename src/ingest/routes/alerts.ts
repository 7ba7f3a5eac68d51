import { z } from 'zod';
import { auditRow, logAudit, requestFacts } from '../audit.js';
import type { IngestApp, IngestContext } from '../context.js';
import { ErrorReply, text } from '../http/schemas.js';
import { QueueRefusedError, insertRows } from '../write-queue.js';

const labelSet = z.record(z.string().max(256), text(4_096));

/** Alertmanager's webhook payload (version 4), every documented field and no others. */
const AlertmanagerAlert = z.strictObject({
  status: z.enum(['firing', 'resolved']),
  labels: labelSet,
  annotations: labelSet,
  startsAt: z.iso.datetime({ offset: true }),
  endsAt: z.iso.datetime({ offset: true }),
  generatorURL: z.string().max(4_096),
  fingerprint: z.string().regex(/^[0-9a-f]{1,64}$/, 'must be a hex fingerprint'),
});
const AlertmanagerPayload = z.strictObject({
  version: z.literal('4'),
  groupKey: z.string().max(4_096),
  truncatedAlerts: z.number().int().min(0),
  status: z.enum(['firing', 'resolved']),
  receiver: z.string().max(256),
  groupLabels: labelSet,
  commonLabels: labelSet,
  commonAnnotations: labelSet,
  externalURL: z.string().max(4_096),
  alerts: z.array(AlertmanagerAlert).max(1_000),
});
export type AlertmanagerPayload = z.input<typeof AlertmanagerPayload>;

const AlertRecord = z.strictObject({
  id: z.number(),
  fingerprint: z.string(),
  alertname: z.string(),
  severity: z.string().nullable(),
  status: z.enum(['firing', 'resolved']),
  labels: z.record(z.string(), z.string()),
  annotations: z.record(z.string(), z.string()),
  starts_at: z.string(),
  ends_at: z.string().nullable(),
  duration_seconds: z.number().nullable(),
  receiver: z.string(),
  notifications: z.number(),
  acknowledged_at: z.string().nullable(),
  acknowledged_by: z.string().nullable(),
});

const ISO = (col: string) => `to_char(${col} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;
const SELECT_ALERT = `SELECT id::float8 AS id, fingerprint, alertname, severity, status, labels, annotations,
  ${ISO('starts_at')} AS starts_at, ${ISO('ends_at')} AS ends_at,
  CASE WHEN ends_at IS NULL THEN NULL ELSE extract(epoch FROM ends_at - starts_at)::float8 END AS duration_seconds,
  receiver, notifications, ${ISO('acknowledged_at')} AS acknowledged_at, acknowledged_by FROM alerts`;

/** Alertmanager's zero time for "not ended" and any other date before 1970 mean no end. */
const endOrNull = (endsAt: string) => (Date.parse(endsAt) > 0 ? endsAt : null);

/** Alert history from Alertmanager's webhook, listing and acknowledgement. */
export function registerAlertRoutes(app: IngestApp, ctx: IngestContext): void {
  app.post(
    '/api/v1/alerts/webhook',
    {
      config: { scope: 'ingest' },
      schema: {
        body: AlertmanagerPayload,
        response: { 200: z.strictObject({ success: z.literal(true), received: z.number().int() }), '4xx': ErrorReply, '5xx': ErrorReply },
      },
    },
    async (request) => {
      if (ctx.state.closing) throw new QueueRefusedError('closed');
      const p = request.body;
      const entry = {
        actor: request.principal!.name,
        action: 'alerts.webhook',
        resourceType: 'alerts',
        resourceId: p.groupKey.slice(0, 256),
        outcome: 'success' as const,
        ...requestFacts(request),
        metadata: { count: p.alerts.length, status: p.status, receiver: p.receiver },
      };
      await ctx.db.transaction(async (tx) => {
        for (const a of p.alerts) {
          await tx.query(
            `INSERT INTO alerts (fingerprint, alertname, severity, status, labels, annotations, starts_at, ends_at, generator_url, receiver)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
             ON CONFLICT (fingerprint, starts_at) DO UPDATE SET
               status = excluded.status,
               ends_at = CASE WHEN excluded.status = 'resolved' THEN excluded.ends_at ELSE alerts.ends_at END,
               annotations = excluded.annotations,
               last_received_at = now(),
               notifications = alerts.notifications + 1`,
            [
              a.fingerprint,
              a.labels['alertname'] ?? 'unnamed',
              a.labels['severity'] ?? null,
              a.status,
              JSON.stringify(a.labels),
              JSON.stringify(a.annotations),
              a.startsAt,
              a.status === 'resolved' ? endOrNull(a.endsAt) : null,
              a.generatorURL,
              p.receiver,
            ],
          );
        }
        await insertRows(tx, 'audit_log', [auditRow(entry)]);
      });
      for (const a of p.alerts) ctx.metrics.alertsReceived.inc({ status: a.status });
      logAudit(request.log, entry);
      return { success: true as const, received: p.alerts.length };
    },
  );

  app.get(
    '/api/v1/alerts',
    {
      config: { scope: 'read' },
      schema: {
        querystring: z.strictObject({
          status: z.enum(['firing', 'resolved']).optional(),
          limit: z.coerce.number().int().min(1).max(500).default(100),
        }),
        response: { 200: z.strictObject({ alerts: z.array(AlertRecord) }), '4xx': ErrorReply, '5xx': ErrorReply },
      },
    },
    async (request) => {
      const { rows } = await ctx.db.query<z.output<typeof AlertRecord>>(
        `${SELECT_ALERT} WHERE ($1::text IS NULL OR status = $1::text) ORDER BY last_received_at DESC, id DESC LIMIT $2`,
        [request.query.status ?? null, request.query.limit],
      );
      return { alerts: rows };
    },
  );

  app.post(
    '/api/v1/alerts/:id/acknowledge',
    {
      config: { scope: 'admin' },
      schema: {
        params: z.strictObject({ id: z.coerce.number().int().min(1).max(Number.MAX_SAFE_INTEGER) }),
        response: { 200: AlertRecord, '4xx': ErrorReply, '5xx': ErrorReply },
      },
    },
    async (request, reply) => {
      const actor = request.principal!.name;
      const entry = {
        actor,
        action: 'alerts.acknowledge',
        resourceType: 'alerts',
        resourceId: String(request.params.id),
        outcome: 'success' as const,
        ...requestFacts(request),
      };
      const row = await ctx.db.transaction(async (tx) => {
        const { rows } = await tx.query<{ id: number }>(
          `UPDATE alerts SET acknowledged_at = coalesce(acknowledged_at, now()), acknowledged_by = coalesce(acknowledged_by, $2)
            WHERE id = $1 RETURNING id`,
          [request.params.id, actor],
        );
        if (rows.length === 0) return undefined;
        await insertRows(tx, 'audit_log', [auditRow(entry)]);
        return (await tx.query<z.output<typeof AlertRecord>>(`${SELECT_ALERT} WHERE id = $1`, [request.params.id])).rows[0];
      });
      if (!row) {
        request.refusal = 'not_found';
        return reply.code(404).send({ error: 'not_found', message: `no alert ${request.params.id}` });
      }
      logAudit(request.log, entry);
      return row;
    },
  );
}
