import type { FastifyBaseLogger, FastifyRequest } from 'fastify';
import type { IngestContext } from './context.js';
import { levelEnabled, truncateIp } from './telemetry/logger.js';
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
  /** The project the entry belongs to (the key's); null for what concerns no one project (a job, a request without a valid key). */
  readonly project?: string | null;
  /** The end user and session the request was made for, as the caller says (`X-User-Id`, `X-Session-Id`). */
  readonly userId?: string | null;
  readonly sessionId?: string | null;
  /** The action's own tags (COMPLIANCE_TAGS) and the caller's (`X-Compliance-Tags`). */
  readonly complianceTags?: readonly string[];
  /** The caller's X-Compliance-Tags header, as sent; `complianceTags()` reads it. */
  readonly complianceHeader?: string;
}

/** Compliance tags every entry of an action carries: erasure and retention are GDPR's, keys, acknowledgements and refusals SOC 2's. */
export const COMPLIANCE_TAGS: Readonly<Record<string, readonly string[]>> = {
  'user.erase': ['GDPR', 'audit_required'],
  'retention.run': ['GDPR'],
  'api_key.added': ['SOC2', 'audit_required'],
  'api_key.removed': ['SOC2', 'audit_required'],
  'api_key.revoked': ['SOC2', 'audit_required'],
  'api_key.changed': ['SOC2', 'audit_required'],
  'api_key.expired': ['SOC2', 'audit_required'],
  'api_keys.reload': ['SOC2'],
  'alerts.acknowledge': ['SOC2'],
  'request.refused': ['SOC2'],
};

const ACTOR_VALUE = /^[\x21-\x7e]{1,128}$/;
const TAG = /^[A-Za-z0-9_-]{1,32}$/;
const NO_TAGS: readonly string[] = [];

/** A caller's X-User-Id or X-Session-Id: 1-128 visible ASCII characters, else not recorded. */
function headerValue(v: string | string[] | undefined): string | null {
  return typeof v === 'string' && ACTOR_VALUE.test(v) ? v : null;
}

/** The tags of an entry: the action's, then the caller's X-Compliance-Tags (comma-separated, at most 10 of [A-Za-z0-9_-]). */
export function complianceTags(action: string, header?: string | string[]): readonly string[] {
  // Most writes carry no header: their tags are the action's, with nothing to build.
  if (typeof header !== 'string') return COMPLIANCE_TAGS[action] ?? NO_TAGS;
  const tags = new Set(COMPLIANCE_TAGS[action] ?? []);
  for (const t of header.split(',').slice(0, 10)) {
    const tag = t.trim();
    if (TAG.test(tag)) tags.add(tag);
  }
  return [...tags];
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
    e.project ?? null,
    e.userId ?? null,
    e.sessionId ?? null,
    e.complianceTags ?? complianceTags(e.action, e.complianceHeader),
  ];
}

/** Request facts every audit entry carries. */
export function requestFacts(request: FastifyRequest): Pick<AuditEntry, 'ip' | 'userAgent' | 'requestId' | 'userId' | 'sessionId' | 'complianceHeader'> {
  const h = request.headers;
  const ua = h['user-agent'];
  const tags = h['x-compliance-tags'];
  return {
    ip: request.ip,
    userAgent: typeof ua === 'string' ? ua : null,
    requestId: request.id,
    userId: headerValue(h['x-user-id']),
    sessionId: headerValue(h['x-session-id']),
    ...(typeof tags === 'string' ? { complianceHeader: tags } : {}),
  };
}

/** Who the entry is about: the key's name as actor, and its project. */
export function principalFacts(request: FastifyRequest): Pick<AuditEntry, 'actor' | 'project'> {
  const p = request.principal!;
  return { actor: p.name, project: p.project };
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
      'labels.project': e.project ?? undefined,
      // Cut here, so that the line's formatter finds it safe and does not copy the line.
      'source.ip': e.ip ? truncateIp(e.ip) : undefined,
      'user_agent.original': e.userAgent ?? undefined,
      'audit.resource_type': e.resourceType ?? undefined,
      'audit.resource_id': e.resourceId ?? undefined,
      'audit.outcome': e.outcome,
      'audit.metadata': e.metadata,
      // The end user and session ids are kept in the table only, which erasure reaches; a log line cannot be taken back.
      'audit.compliance_tags': e.complianceTags ?? complianceTags(e.action, e.complianceHeader),
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
  const { name, project } = request.principal!;
  const facts = requestFacts(request);
  // One object literal of fixed shape, without spreads: this runs on every write.
  const entry: AuditEntry = {
    actor: name,
    project,
    outcome: 'success',
    action: audit.action,
    resourceType: audit.resourceType,
    resourceId: audit.resourceId,
    metadata: audit.metadata,
    ip: facts.ip,
    userAgent: facts.userAgent,
    requestId: facts.requestId,
    userId: facts.userId,
    sessionId: facts.sessionId,
    complianceHeader: facts.complianceHeader,
  };
  const returned = await ctx.queue.enqueue(withAudit(rows, auditRow(entry)));
  logAudit(request.log, entry);
  return returned;
}

/** The write's rows and its audit row; a new object, the caller's stays as it was. */
function withAudit(rows: Rows, audit: unknown[]): Rows {
  // Every table named, so that a table added to the queue cannot be left out here.
  const all: Record<keyof Rows, unknown[][] | undefined> = { events: rows.events, error_events: rows.error_events, error_groups: rows.error_groups, business_metrics: rows.business_metrics, audit_log: rows.audit_log ? [...rows.audit_log, audit] : [audit] };
  return all as Rows;
}

/** One refused request, as the refusal audit needs it. */
export interface Refusal {
  readonly actor: string | null;
  /** The project of the key presented, when it was recognised. */
  readonly project: string | null;
  /** `METHOD /route/template`. */
  readonly resource: string;
  readonly status: number;
  readonly reason: string;
  readonly ip: string | null;
  readonly userAgent: string | null;
  readonly requestId: string;
}

interface Window {
  readonly first: Refusal;
  readonly firstAt: string;
  lastAt: string;
  /** Refusals after the first, written when the window closes. */
  more: number;
}

/**
 * The audit of refused requests, bounded whatever a client sends: per
 * window (a minute) the first refusal of each source, actor, route and reason
 * is written at once, and the others of that window are added up into one
 * row (`metadata.count`) when the window closes. At most `maxKeys`
 * combinations are kept per window; the rest are added up into one row with
 * no source. Rows are written through `write` (best effort); each row has
 * its audit line on `log`.
 */
export class RefusalAudit {
  private windows = new Map<string, Window>();
  private overflow: { count: number; firstAt: string; lastAt: string } | undefined;
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly write: (entries: AuditEntry[]) => void,
    private readonly log: FastifyBaseLogger,
    private readonly opts: { windowMs: number; maxKeys: number } = { windowMs: 60_000, maxKeys: 1_000 },
  ) {
    this.timer = setInterval(() => this.flush(), opts.windowMs);
    this.timer.unref();
  }

  /** Records one refusal; returns true when it was the first of its kind in this window (and so written at once). */
  record(r: Refusal): boolean {
    const key = `${r.ip ?? ''}\u0000${r.actor ?? ''}\u0000${r.resource}\u0000${r.status}\u0000${r.reason}`;
    const now = new Date().toISOString();
    const w = this.windows.get(key);
    if (w) {
      w.more++;
      w.lastAt = now;
      return false;
    }
    if (this.windows.size >= this.opts.maxKeys) {
      this.overflow ??= { count: 0, firstAt: now, lastAt: now };
      this.overflow.count++;
      this.overflow.lastAt = now;
      return false;
    }
    this.windows.set(key, { first: r, firstAt: now, lastAt: now, more: 0 });
    this.emit([entry(r, { count: 1 })]);
    return true;
  }

  /** Writes the sums of the window that ends now and starts a new one. */
  flush(): void {
    const entries: AuditEntry[] = [];
    for (const w of this.windows.values()) {
      if (w.more > 0) entries.push(entry(w.first, { count: w.more, first_at: w.firstAt, last_at: w.lastAt, aggregated: true }));
    }
    if (this.overflow) {
      const o = this.overflow;
      entries.push({
        actor: null,
        action: 'request.refused',
        resourceType: 'http',
        resourceId: null,
        outcome: 'refused',
        reason: 'many_sources',
        metadata: { count: o.count, first_at: o.firstAt, last_at: o.lastAt, aggregated: true },
      });
    }
    this.windows = new Map();
    this.overflow = undefined;
    if (entries.length > 0) this.emit(entries);
  }

  /** Writes what is pending and stops the timer. */
  close(): void {
    clearInterval(this.timer);
    this.flush();
  }

  private emit(entries: AuditEntry[]): void {
    for (const e of entries) logAudit(this.log, e);
    this.write(entries);
  }
}

function entry(r: Refusal, metadata: Record<string, unknown>): AuditEntry {
  return {
    actor: r.actor,
    action: 'request.refused',
    resourceType: 'http',
    resourceId: r.resource,
    outcome: r.status >= 500 && r.status !== 503 ? 'failure' : 'refused',
    reason: r.reason,
    ip: r.ip,
    userAgent: r.userAgent,
    requestId: r.requestId,
    project: r.project,
    metadata: { status: r.status, ...metadata },
  };
}
