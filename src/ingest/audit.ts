import type { FastifyBaseLogger, FastifyRequest } from 'fastify';
import type { IngestContext } from './context.js';
import { levelEnabled } from './telemetry/logger.js';
import type { Returned, Rows } from './write-queue.js';

export type AuditOutcome = 'success' | 'failure' | 'refused';

/** One audit entry; the fields follow the audit-log shape of the requirements. */
export interface AuditEntry {
  readonly actor: string | null;
  readonly action: string;
  readonly resourceType?: string | null;
  readonly resourceId?: string | null;
  readonly outcome: AuditOutcome;
  readonly reason?: string | null;
  readonly ip?: string | null;
  readonly userAgent?: string | null;
  readonly requestId?: string | null;
  readonly metadata?: Record<string, unknown>;
}

/** The entry as a row of `audit_log` in TABLES column order. */
export function auditRow(e: AuditEntry): unknown[] {
  return [
    e.actor,
    e.action,
    e.resourceType ?? null,
    e.resourceId ?? null,
    e.outcome,
    e.reason ?? null,
    e.ip ?? null,
    e.userAgent?.slice(0, 512) ?? null,
    e.requestId ?? null,
    e.metadata ?? {},
  ];
}

/** Request facts every audit entry carries. */
export function requestFacts(request: FastifyRequest): Pick<AuditEntry, 'ip' | 'userAgent' | 'requestId'> {
  const ua = request.headers['user-agent'];
  return { ip: request.ip, userAgent: typeof ua === 'string' ? ua : null, requestId: request.id };
}

/**
 * Writes the audit log line (ECS `event.*` fields) on the request's logger,
 * which already binds `http.request.id`; the row goes through the write queue.
 */
export function logAudit(log: FastifyBaseLogger, e: AuditEntry): void {
  if (!levelEnabled(log, 'info')) return;
  log.info(
    {
      'event.kind': 'event',
      'event.category': ['configuration'],
      'event.dataset': 'obstack_ingest.audit',
      'event.action': e.action,
      'event.outcome': e.outcome === 'success' ? 'success' : 'failure',
      'event.reason': e.reason ?? undefined,
      'user.name': e.actor ?? undefined,
      'source.ip': e.ip ?? undefined,
      'user_agent.original': e.userAgent ?? undefined,
      'audit.resource_type': e.resourceType ?? undefined,
      'audit.resource_id': e.resourceId ?? undefined,
      'audit.outcome': e.outcome,
      'audit.metadata': e.metadata,
    },
    'audit',
  );
}

/** What a write says of itself in its audit entry; actor, outcome and request facts come from the request. */
export type WriteAudit = Pick<AuditEntry, 'action' | 'resourceType' | 'resourceId' | 'metadata'>;

/**
 * Commits a request's rows together with the audit row of the write (one
 * statement, so neither is stored without the other), then writes the audit
 * line. Resolves once committed, with what the write queue returned for the
 * rows; rejects as the write queue does.
 */
export async function commitAudited(ctx: Pick<IngestContext, 'queue'>, request: FastifyRequest, rows: Rows, audit: WriteAudit): Promise<Returned> {
  const entry: AuditEntry = { actor: request.principal!.name, outcome: 'success', ...audit, ...requestFacts(request) };
  const returned = await ctx.queue.enqueue({ ...rows, audit_log: [auditRow(entry)] });
  logAudit(request.log, entry);
  return returned;
}
