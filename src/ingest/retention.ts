import type { IngestConfig } from './config.js';
import type { Database } from './db.js';
import { insertRows } from './write-queue.js';
import { auditRow, type AuditEntry } from './audit.js';
import { recordJobRun } from './rollup.js';

const BATCH = 10_000;

/** Rows deleted, per project (rows of no project, such as a job's audit rows, count in the total only). */
interface Deleted {
  total: number;
  readonly byProject: Map<string, number>;
}

/** Adds what one DELETE … RETURNING project gave back, counted per project. */
function tally(into: Deleted, rows: readonly { project: string | null; n: number }[]): number {
  let n = 0;
  for (const r of rows) {
    n += r.n;
    if (r.project !== null) into.byProject.set(r.project, (into.byProject.get(r.project) ?? 0) + r.n);
  }
  into.total += n;
  return n;
}

/** Deletes rows older than `cutoff` in batches, so no transaction holds locks for long. */
async function deleteOlder(db: Database, table: string, column: string, cutoff: Date): Promise<Deleted> {
  const deleted: Deleted = { total: 0, byProject: new Map() };
  for (;;) {
    const { rows } = await db.query<{ project: string | null; n: number }>(
      `WITH gone AS (DELETE FROM ${table} WHERE id IN (SELECT id FROM ${table} WHERE ${column} < $1::timestamptz LIMIT ${BATCH}) RETURNING project)
       SELECT project, count(*)::int AS n FROM gone GROUP BY project`,
      [cutoff.toISOString()],
    );
    if (tally(deleted, rows) < BATCH) return deleted;
  }
}

/**
 * Applies the retention periods, the same for every project: raw events,
 * error reports and business metrics after `retentionDays`, alert history
 * after `alertRetentionDays`, the audit log after `auditRetentionDays`. Daily
 * rollups are kept: they hold no user ids except `daily_active_users`, which
 * follows the events. Each project whose rows went gets an audit row of its
 * own counts (in its project), and the run one of the totals (in none).
 * Returns the totals per table.
 */
export async function runRetention(
  db: Database,
  config: Pick<IngestConfig, 'retentionDays' | 'auditRetentionDays' | 'alertRetentionDays'>,
  now = new Date(),
): Promise<Record<string, number>> {
  const ago = (days: number) => new Date(now.getTime() - days * 86_400_000);
  const tables: Record<string, Deleted> = {
    events: await deleteOlder(db, 'events', 'ts', ago(config.retentionDays)),
    error_events: await deleteOlder(db, 'error_events', 'ts', ago(config.retentionDays)),
    business_metrics: await deleteOlder(db, 'business_metrics', 'ts', ago(config.retentionDays)),
    alerts: await deleteOlder(db, 'alerts', 'last_received_at', ago(config.alertRetentionDays)),
    audit_log: await deleteOlder(db, 'audit_log', 'ts', ago(config.auditRetentionDays)),
  };
  const users: Deleted = { total: 0, byProject: new Map() };
  const { rows } = await db.query<{ project: string; n: number }>(
    `WITH gone AS (DELETE FROM daily_active_users WHERE day < $1::date RETURNING project) SELECT project, count(*)::int AS n FROM gone GROUP BY project`,
    [ago(config.retentionDays).toISOString().slice(0, 10)],
  );
  tally(users, rows);
  tables['daily_active_users'] = users;

  const deleted = Object.fromEntries(Object.entries(tables).map(([table, d]) => [table, d.total]));
  const perProject = new Map<string, Record<string, number>>();
  for (const [table, d] of Object.entries(tables)) {
    for (const [project, n] of d.byProject) perProject.set(project, { ...perProject.get(project), [table]: n });
  }
  const entry = (project: string | null, counts: Record<string, number>): AuditEntry => ({
    actor: 'retention-job',
    action: 'retention.run',
    resourceType: 'database',
    outcome: 'success',
    project,
    metadata: { deleted: counts, retentionDays: config.retentionDays },
  });
  await db.transaction(async (tx) => {
    await insertRows(tx, 'audit_log', [entry(null, deleted), ...[...perProject].sort(([a], [b]) => a.localeCompare(b)).map(([p, counts]) => entry(p, counts))].map(auditRow));
  });
  await recordJobRun(db, 'retention', { deleted, projects: Object.fromEntries(perProject) });
  return deleted;
}
