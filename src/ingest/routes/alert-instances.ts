import { z } from 'zod';
import { AlertInstanceRequest, SEVERITY_LEVELS, alertFingerprint, postableAlert } from '../alert-instances.js';
import { AlertmanagerClient, AlertmanagerError } from '../alertmanager-client.js';
import { auditRow, logAudit, principalFacts, requestFacts } from '../audit.js';
import type { IngestApp, IngestContext } from '../context.js';
import { HttpError } from '../http/errors.js';
import { ErrorReply } from '../http/schemas.js';
import { QueueRefusedError, insertRows } from '../write-queue.js';

const ISO = (col: string) => `to_char(${col} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;

const CreatedAlert = z.strictObject({
  success: z.literal(true),
  message: z.string(),
  /** The alert's id in the history (`GET /api/v1/alerts`), as the seed API names it. */
  alert_id: z.string(),
  id: z.number(),
  /** Alertmanager's fingerprint of its labels: the webhook's notifications of it update this row. */
  fingerprint: z.string(),
  name: z.string(),
  /** The stack's severity (P1-P4) the routing tree sends it by, and the one asked for. */
  severity: z.enum(['P1', 'P2', 'P3', 'P4']),
  requested_severity: z.string(),
  component: z.string(),
  status: z.literal('firing'),
  starts_at: z.string(),
  /** False when the same alert (same labels) was already firing: it was sent again and keeps its start. */
  created: z.boolean(),
  labels: z.record(z.string(), z.string()),
});

/**
 * `POST /api/v1/monitoring/alerts` (the seed API's alert): an alert instance
 * sent to Alertmanager, which routes it by its severity and team like any
 * other, and recorded in the project's alert history. Nothing is recorded
 * unless Alertmanager took the alert.
 */
export function registerAlertInstanceRoutes(app: IngestApp, ctx: IngestContext): void {
  const alertmanager = ctx.config.alertmanagerUrl ? new AlertmanagerClient(ctx.config.alertmanagerUrl, ctx.config.alertmanagerTimeoutMs) : undefined;

  app.post(
    '/api/v1/monitoring/alerts',
    {
      config: { scope: 'ingest' },
      schema: { body: AlertInstanceRequest, response: { 200: CreatedAlert, 201: CreatedAlert, '4xx': ErrorReply, '5xx': ErrorReply } },
    },
    async (request, reply) => {
      if (ctx.state.closing) throw new QueueRefusedError('closed');
      if (!alertmanager) throw new HttpError(503, 'alertmanager_not_configured', 'alerts are sent through Alertmanager: this service has no ALERTMANAGER_URL');
      const body = request.body;
      const project = request.principal!.project;
      const probe = postableAlert(body, project, new Date());
      const fingerprint = alertFingerprint(probe.labels);
      // The same alert already firing keeps its start: Alertmanager then merges the two, and the history has one row.
      const { rows: firing } = await ctx.db.query<{ id: number; starts_at: string }>(
        `SELECT id::float8 AS id, ${ISO('starts_at')} AS starts_at FROM alerts
          WHERE project = $1 AND fingerprint = $2 AND status = 'firing' ORDER BY starts_at DESC LIMIT 1`,
        [project, fingerprint],
      );
      const startsAt = firing[0] ? new Date(firing[0].starts_at) : new Date(probe.startsAt);
      const alert = postableAlert(body, project, startsAt);
      try {
        await alertmanager.postAlerts([alert]);
      } catch (err) {
        if (!(err instanceof AlertmanagerError)) throw err;
        request.log.warn({ error: err }, 'alertmanager call failed');
        throw err.kind === 'unreachable'
          ? new HttpError(503, 'alertmanager_unavailable', 'Alertmanager did not answer: the alert is not sent and not recorded, retry later')
          : new HttpError(502, 'alertmanager_refused', `Alertmanager refused the alert (HTTP ${err.status ?? 'error'}): it is not recorded`);
      }
      const entry = {
        ...principalFacts(request),
        action: 'alerts.create',
        resourceType: 'alerts',
        resourceId: fingerprint,
        outcome: 'success' as const,
        ...requestFacts(request),
        metadata: { alertname: alert.labels['alertname'], severity: alert.labels['severity'], component: body.component },
      };
      const id = await ctx.db.transaction(async (tx) => {
        // The webhook may have written the row already (a group_wait of 0): the upsert leaves its notifications as they are.
        const { rows } = await tx.query<{ id: number }>(
          `INSERT INTO alerts (fingerprint, alertname, severity, status, labels, annotations, starts_at, receiver, project, notifications)
           VALUES ($1, $2, $3, 'firing', $4, $5, $6, 'api', $7, 0)
           ON CONFLICT (project, fingerprint, starts_at) DO UPDATE SET annotations = excluded.annotations, last_received_at = now()
           RETURNING id::float8 AS id`,
          [fingerprint, alert.labels['alertname'], alert.labels['severity'], JSON.stringify(alert.labels), JSON.stringify(alert.annotations), alert.startsAt, project],
        );
        await insertRows(tx, 'audit_log', [auditRow({ ...entry, resourceId: `${fingerprint}` })]);
        return rows[0]!.id;
      });
      logAudit(request.log, entry);
      const created = firing.length === 0;
      return reply.code(created ? 201 : 200).send({
        success: true as const,
        message: created ? 'Alert sent to Alertmanager and recorded' : 'Alert already firing: sent again',
        alert_id: String(id),
        id,
        fingerprint,
        name: alert.labels['alertname']!,
        severity: SEVERITY_LEVELS[body.severity],
        requested_severity: body.severity,
        component: body.component,
        status: 'firing' as const,
        starts_at: alert.startsAt,
        created,
        labels: alert.labels,
      });
    },
  );
}
