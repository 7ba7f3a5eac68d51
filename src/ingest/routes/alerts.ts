import { z } from 'zod';
import { AlertmanagerClient, AlertmanagerError, equalityMatchers, type NewSilence } from '../alertmanager-client.js';
import { auditRow, logAudit, principalFacts, requestFacts } from '../audit.js';
import type { IngestApp, IngestContext } from '../context.js';
import { HttpError } from '../http/errors.js';
import { ErrorReply, instantProblem, text, textProblem, textRecord, timestamp } from '../http/schemas.js';
import { QueueRefusedError, insertRows } from '../write-queue.js';

const labelSet = textRecord(256, 4_096);

/** Alertmanager's end of an alert: its zero time (year 1) or any time before 1970 means no end and is stored as none; a real end is a timestamp. */
const alertEnd = z.iso.datetime({ offset: true, message: 'must be an ISO 8601 date-time with a zone' }).pipe(
  z.string().superRefine((s, ctx) => {
    const problem = Date.parse(s) > 0 ? instantProblem(s) : undefined;
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  }),
);

/** Alertmanager's webhook payload (version 4), every documented field and no others. */
const AlertmanagerAlert = z.strictObject({
  status: z.enum(['firing', 'resolved']),
  labels: labelSet,
  annotations: labelSet,
  startsAt: timestamp,
  endsAt: alertEnd,
  generatorURL: text(4_096),
  fingerprint: z.string().regex(/^[0-9a-f]{1,64}$/, 'must be a hex fingerprint'),
});
const AlertmanagerPayload = z.strictObject({
  version: z.literal('4'),
  groupKey: text(4_096),
  truncatedAlerts: z.number().int().min(0),
  status: z.enum(['firing', 'resolved']),
  receiver: text(256),
  groupLabels: labelSet,
  commonLabels: labelSet,
  commonAnnotations: labelSet,
  externalURL: text(4_096),
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
  /** Why it was acknowledged, and until when its silences last. */
  acknowledged_reason: z.string().nullable(),
  acknowledged_until: z.string().nullable(),
  /** Alertmanager's ids of the alert's silence and of its escalation's. */
  silence_id: z.string().nullable(),
  escalation_silence_id: z.string().nullable(),
});

/** The alert the escalation rule raises for an alert left unacknowledged; it carries the alert's labels and this one. */
export const ESCALATION_ALERTNAME = 'AlertNotAcknowledged';
export const ESCALATED_LABEL = 'escalated_alertname';

const MINUTE_MS = 60_000;
const MAX_ACK_MS = 7 * 24 * 60 * MINUTE_MS;
const DEFAULT_ACK_MS = 4 * 60 * MINUTE_MS;
const DURATION = /^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?$/;

/** Milliseconds of a duration such as `2h`, `1d12h` or `90m`; undefined when it is not one. */
export function durationMs(s: string): number | undefined {
  const m = DURATION.exec(s);
  if (!m || s === '') return undefined;
  const [d, h, min] = [m[1], m[2], m[3]].map((x) => Number(x ?? 0)) as [number, number, number];
  return ((d * 24 + h) * 60 + min) * MINUTE_MS;
}

const requiredString = (what: string) => ({
  error: (issue: { input?: unknown }) => (issue.input === undefined ? `required: ${what}` : 'must be a string'),
});

const AcknowledgeBody = z
  .strictObject({
    by: z.string().trim().min(1, 'must not be empty').max(128, 'must be at most 128 characters').optional(),
    reason: z
      .string(requiredString('say why the alert is acknowledged (1 to 1000 characters)'))
      .trim()
      .min(1, 'must not be empty: say why the alert is acknowledged')
      .max(1_000, 'must be at most 1000 characters'),
    until: timestamp.optional(),
    for: z
      .string()
      .regex(DURATION, 'must be a duration of days, hours and minutes, e.g. 30m, 2h or 1d12h')
      .refine((s) => s !== '', 'must not be empty')
      .optional(),
  })
  .superRefine((b, ctx) => {
    for (const field of ['by', 'reason'] as const) {
      const problem = b[field] === undefined ? undefined : textProblem(b[field]);
      if (problem) ctx.addIssue({ code: 'custom', path: [field], message: problem });
    }
    if (b.until !== undefined && b.for !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['for'], message: 'give either until or for, not both' });
      return;
    }
    const now = Date.now();
    if (b.until !== undefined) {
      const t = Date.parse(b.until);
      if (t <= now) ctx.addIssue({ code: 'custom', path: ['until'], message: `must be in the future, got ${b.until}` });
      else if (t - now > MAX_ACK_MS) ctx.addIssue({ code: 'custom', path: ['until'], message: `must be at most 7 days ahead, got ${b.until}` });
    }
    if (b.for !== undefined) {
      const ms = durationMs(b.for);
      if (ms === undefined) return; // the regex above has said why
      if (ms < MINUTE_MS) ctx.addIssue({ code: 'custom', path: ['for'], message: `must be at least 1m, got ${b.for}` });
      else if (ms > MAX_ACK_MS) ctx.addIssue({ code: 'custom', path: ['for'], message: `must be at most 7d (168h), got ${b.for}` });
    }
  });
export type AcknowledgeBody = z.input<typeof AcknowledgeBody>;

/** When an acknowledgement given now ends: `until`, now + `for`, or now + 4 hours. */
function acknowledgedUntil(b: z.output<typeof AcknowledgeBody>, now: number): Date {
  if (b.until !== undefined) return new Date(b.until);
  return new Date(now + (b.for !== undefined ? durationMs(b.for)! : DEFAULT_ACK_MS));
}

/**
 * The silences of one acknowledgement: the alert by all its labels, and
 * unless the alert is itself an escalation, the escalation rule's alert for
 * it (`alertname="AlertNotAcknowledged"`, `escalated_alertname` = the alert's
 * name, and the alert's other labels).
 */
export function acknowledgementSilences(
  labels: Readonly<Record<string, string>>,
  alertname: string,
  common: Pick<NewSilence, 'startsAt' | 'endsAt' | 'createdBy' | 'comment'>,
): { alert: NewSilence; escalation: NewSilence | undefined } {
  const alert = { ...common, matchers: equalityMatchers(labels) };
  const name = labels['alertname'] ?? alertname;
  if (name === ESCALATION_ALERTNAME) return { alert, escalation: undefined };
  const { alertname: _ignored, ...rest } = labels;
  void _ignored;
  const escalation = { ...common, matchers: equalityMatchers({ ...rest, alertname: ESCALATION_ALERTNAME, [ESCALATED_LABEL]: name }) };
  return { alert, escalation };
}

const ISO = (col: string) => `to_char(${col} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;
const SELECT_ALERT = `SELECT id::float8 AS id, fingerprint, alertname, severity, status, labels, annotations,
  ${ISO('starts_at')} AS starts_at, ${ISO('ends_at')} AS ends_at,
  CASE WHEN ends_at IS NULL THEN NULL ELSE extract(epoch FROM ends_at - starts_at)::float8 END AS duration_seconds,
  receiver, notifications, ${ISO('acknowledged_at')} AS acknowledged_at, acknowledged_by,
  acknowledged_reason, ${ISO('acknowledged_until')} AS acknowledged_until, silence_id, escalation_silence_id FROM alerts`;

/** Alertmanager's zero time for "not ended" and any other date before 1970 mean no end. */
const endOrNull = (endsAt: string) => (Date.parse(endsAt) > 0 ? endsAt : null);

/** Alert history from Alertmanager's webhook, listing and acknowledgement. */
export function registerAlertRoutes(app: IngestApp, ctx: IngestContext): void {
  const alertmanager = ctx.config.alertmanagerUrl
    ? new AlertmanagerClient(ctx.config.alertmanagerUrl, ctx.config.alertmanagerTimeoutMs)
    : undefined;
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
      const project = request.principal!.project;
      const entry = {
        ...principalFacts(request),
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
            `INSERT INTO alerts (fingerprint, alertname, severity, status, labels, annotations, starts_at, ends_at, generator_url, receiver, project)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
             ON CONFLICT (project, fingerprint, starts_at) DO UPDATE SET
               status = excluded.status,
               ends_at = CASE WHEN excluded.status = 'resolved' THEN excluded.ends_at ELSE alerts.ends_at END,
               annotations = excluded.annotations,
               receiver = excluded.receiver,
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
              project,
            ],
          );
          // An alert a project sent through POST /api/v1/monitoring/alerts: its own row follows the notifications too.
          // Only a row the project wrote itself is updated; Alertmanager's key creates nothing in another project.
          const owner = a.labels['project'];
          if (a.labels['source'] === 'ingest-api' && owner !== undefined && owner !== project) {
            await tx.query(
              `UPDATE alerts SET status = $4,
                      ends_at = CASE WHEN $4 = 'resolved' THEN $5::timestamptz ELSE ends_at END,
                      receiver = $6, last_received_at = now(), notifications = notifications + 1
                WHERE project = $1 AND fingerprint = $2 AND starts_at = $3::timestamptz`,
              [owner, a.fingerprint, a.startsAt, a.status, a.status === 'resolved' ? endOrNull(a.endsAt) : null, p.receiver],
            );
          }
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
        `${SELECT_ALERT} WHERE project = $3 AND ($1::text IS NULL OR status = $1::text) ORDER BY last_received_at DESC, id DESC LIMIT $2`,
        [request.query.status ?? null, request.query.limit, request.principal!.project],
      );
      return { alerts: rows };
    },
  );


  /** The answer for a call to Alertmanager that failed; the cause goes to the log, not to the client. */
  const alertmanagerFailure = (request: { log: IngestApp['log'] }, id: number, err: unknown): unknown => {
    if (!(err instanceof AlertmanagerError)) return err;
    request.log.warn({ error: err }, 'alertmanager call failed');
    return err.kind === 'unreachable'
      ? new HttpError(503, 'alertmanager_unavailable', `Alertmanager did not answer: alert ${id} is not acknowledged, retry later`)
      : new HttpError(502, 'alertmanager_refused', `Alertmanager refused the request (HTTP ${err.status ?? 'error'}): alert ${id} is not acknowledged`);
  };

  app.post(
    '/api/v1/alerts/:id/acknowledge',
    {
      config: { scope: 'admin' },
      schema: {
        params: z.strictObject({ id: z.coerce.number().int().min(1).max(Number.MAX_SAFE_INTEGER) }),
        body: AcknowledgeBody,
        response: { 200: AlertRecord, '4xx': ErrorReply, '5xx': ErrorReply },
      },
    },
    async (request) => {
      const { id } = request.params;
      const body = request.body;
      const by = body.by ?? request.principal!.name;
      // An alert of another project is as unknown as one that does not exist: 404, never 403.
      const project = request.principal!.project;
      const read = async () =>
        (
          await ctx.db.query<{ status: string; alertname: string; labels: Record<string, string>; silence_id: string | null; active: boolean }>(
            `SELECT status, alertname, labels, silence_id, coalesce(acknowledged_until > now(), false) AS active FROM alerts WHERE id = $1 AND project = $2`,
            [id, project],
          )
        ).rows[0];
      const current = await read();
      if (!current) throw new HttpError(404, 'not_found', `no alert ${id}`);
      if (current.status !== 'firing') {
        throw new HttpError(409, 'alert_resolved', `alert ${id} is resolved: only a firing alert can be acknowledged`);
      }
      if (!alertmanager) {
        throw new HttpError(503, 'alertmanager_not_configured', 'acknowledgement needs Alertmanager: this service has no ALERTMANAGER_URL');
      }
      const audited = (metadata: Record<string, unknown>) => ({
        ...principalFacts(request),
        action: 'alerts.acknowledge',
        resourceType: 'alerts',
        resourceId: String(id),
        outcome: 'success' as const,
        ...requestFacts(request),
        metadata,
      });
      const auditAndRead = async (entry: ReturnType<typeof audited>) => {
        const row = await ctx.db.transaction(async (tx) => {
          await insertRows(tx, 'audit_log', [auditRow(entry)]);
          return (await tx.query<z.output<typeof AlertRecord>>(`${SELECT_ALERT} WHERE id = $1 AND project = $2`, [id, project])).rows[0];
        });
        logAudit(request.log, entry);
        return row!;
      };

      // Acknowledged already and its silence still holds: the same acknowledgement, no second silence.
      if (current.silence_id !== null && current.active) {
        let state;
        try {
          state = await alertmanager.silenceState(current.silence_id);
        } catch (err) {
          throw alertmanagerFailure(request, id, err);
        }
        if (state === 'active' || state === 'pending') return auditAndRead(audited({ by, repeated: true, silence_id: current.silence_id }));
      }

      const now = Date.now();
      const until = acknowledgedUntil(body, now);
      const silences = acknowledgementSilences(current.labels, current.alertname, {
        startsAt: new Date(now).toISOString(),
        endsAt: until.toISOString(),
        createdBy: by,
        comment: body.reason,
      });
      const created: string[] = [];
      // Nothing half-done stays behind: silences of an acknowledgement that is not recorded are expired again.
      const expireCreated = async (why: string) => {
        await Promise.all(
          created.map((sid) =>
            alertmanager.expireSilence(sid).then(
              () => request.log.warn({ 'alertmanager.silence_id': sid }, `silence expired again: ${why}`),
              (err: unknown) => request.log.error({ error: err, 'alertmanager.silence_id': sid }, `silence left active after ${why}: expire it in Alertmanager`),
            ),
          ),
        );
      };
      let silenceId: string;
      let escalationId: string | null = null;
      try {
        silenceId = await alertmanager.createSilence(silences.alert);
        created.push(silenceId);
        if (silences.escalation) {
          escalationId = await alertmanager.createSilence(silences.escalation);
          created.push(escalationId);
        }
      } catch (err) {
        await expireCreated('the acknowledgement failed in Alertmanager');
        throw alertmanagerFailure(request, id, err);
      }

      const entry = audited({ by, reason: body.reason, until: until.toISOString(), silence_id: silenceId, escalation_silence_id: escalationId, repeated: false });
      let row: z.output<typeof AlertRecord> | undefined;
      try {
        row = await ctx.db.transaction(async (tx) => {
          // Only if nobody acknowledged it, nor did it resolve, since it was read.
          const { rows } = await tx.query<{ id: number }>(
            `UPDATE alerts SET acknowledged_at = now(), acknowledged_by = $2, acknowledged_reason = $3, acknowledged_until = $4::timestamptz,
               silence_id = $5, escalation_silence_id = $6
             WHERE id = $1 AND project = $8 AND status = 'firing' AND silence_id IS NOT DISTINCT FROM $7::text RETURNING id`,
            [id, by, body.reason, until.toISOString(), silenceId, escalationId, current.silence_id, project],
          );
          if (rows.length === 0) return undefined;
          await insertRows(tx, 'audit_log', [auditRow(entry)]);
          return (await tx.query<z.output<typeof AlertRecord>>(`${SELECT_ALERT} WHERE id = $1 AND project = $2`, [id, project])).rows[0];
        });
      } catch (err) {
        await expireCreated('the database did not record the acknowledgement');
        throw err;
      }
      if (!row) {
        await expireCreated('another acknowledgement or the resolution came first');
        const now = (await ctx.db.query<z.output<typeof AlertRecord>>(`${SELECT_ALERT} WHERE id = $1 AND project = $2`, [id, project])).rows[0];
        if (!now) throw new HttpError(404, 'not_found', `no alert ${id}`);
        if (now.status !== 'firing') throw new HttpError(409, 'alert_resolved', `alert ${id} is resolved: only a firing alert can be acknowledged`);
        return now;
      }
      logAudit(request.log, entry);
      return row;
    },
  );
}
