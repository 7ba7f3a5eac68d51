import type { FastifyRequest } from 'fastify';
import { commitAudited, type WriteAudit } from './audit.js';
import type { IngestContext } from './context.js';
import { topFrames } from './fingerprint.js';

/** Characters a service name keeps; any other becomes `_`. */
const NOT_NAME = /[^a-z0-9_.-]/g;

/**
 * The service an error report comes from: its `service` tag when it has one
 * (SDKs set tags freely), else the name of the API key that sent it, which
 * the deployment chose. Lower-cased, `[a-z0-9_.-]` only, at most 64
 * characters, as migration 5 computes it for the reports stored before.
 */
export function errorService(tags: Readonly<Record<string, unknown>> | undefined, keyName: string): string {
  const tag = tags?.['service'];
  const name = typeof tag === 'string' && tag.trim() !== '' ? tag.trim() : keyName;
  return name.toLowerCase().replace(NOT_NAME, '_').slice(0, 64);
}

/**
 * The `error_groups` row (TABLES column order) of a row of `error_events`:
 * project, fingerprint, service, type, culprit (the top frame, a place in the
 * code), level, first seen. It never holds the message, the stack or the user.
 */
export function groupRow(errorRow: readonly unknown[], service: string): unknown[] {
  const [fp, type, , stack, , , level, , , ts, , , project] = errorRow;
  return [project, fp, service, type, topFrames(typeof stack === 'string' ? stack : undefined, 1)[0]?.slice(0, 512) ?? null, level, ts];
}

/** An error report ready to store: its `error_events` row and its service. */
export interface ErrorReportRow {
  readonly row: unknown[];
  readonly service: string;
}

/**
 * Commits error reports with their groups and the audit row in one
 * statement, then counts them: every report in `ingest_error_reports_total`,
 * and in `ingest_new_error_groups_total` each group this statement inserted,
 * which no other write can have inserted too.
 */
export async function commitErrorReports(ctx: Pick<IngestContext, 'queue' | 'metrics'>, request: FastifyRequest, reports: readonly ErrorReportRow[], audit: WriteAudit): Promise<void> {
  const rows = reports.map((r) => r.row);
  const returned = await commitAudited(ctx, request, { error_events: rows, error_groups: reports.map((r) => groupRow(r.row, r.service)) }, audit);
  const m = ctx.metrics;
  for (const r of reports) m.errorsIngested.inc({ service_name: m.errorServiceLabel(r.service), level: String(r.row[6]) });
  for (const g of returned.error_groups ?? []) m.newErrorGroups.inc({ service_name: m.errorServiceLabel(String(g['service'])) });
}
