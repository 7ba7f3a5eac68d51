import type { IngestConfig } from './config.js';
import type { Database } from './db.js';
import { insertRows } from './write-queue.js';
import { auditRow } from './audit.js';
import { recordJobRun } from './rollup.js';

const BATCH = 10_000;

/** Deletes rows older than `cutoff` in batches, so no transaction holds locks for long. */
async function deleteOlder(db: Database, table: string, column: string, cutoff: Date): Promise<number> {
  let total = 0;
  for (;;) {
    const { rowCount } = await db.query(
      `DELETE FROM ${table} WHERE id IN (SELECT id FROM ${table} WHERE ${column} < $1::timestamptz LIMIT ${BATCH})`,
      [cutoff.toISOString()],
    );
    total += rowCount;
    if (rowCount < BATCH) return total;
  }
}

/**
 * Applies the retention periods: raw events, error reports and business
 * metrics after `retentionDays`, alert history after `alertRetentionDays`, the
 * audit log after `auditRetentionDays`. Daily rollups are kept: they hold no
 * user ids except `daily_active_users`, which follows the events.
 */
export async function runRetention(
  db: Database,
  config: Pick<IngestConfig, 'retentionDays' | 'auditRetentionDays' | 'alertRetentionDays'>,
  now = new Date(),
): Promise<Record<string, number>> {
  const ago = (days: number) => new Date(now.getTime() - days * 86_400_000);
  const deleted: Record<string, number> = {
    events: await deleteOlder(db, 'events', 'ts', ago(config.retentionDays)),
    error_events: await deleteOlder(db, 'error_events', 'ts', ago(config.retentionDays)),
    business_metrics: await deleteOlder(db, 'business_metrics', 'ts', ago(config.retentionDays)),
    alerts: await deleteOlder(db, 'alerts', 'last_received_at', ago(config.alertRetentionDays)),
    audit_log: await deleteOlder(db, 'audit_log', 'ts', ago(config.auditRetentionDays)),
  };
  const { rowCount } = await db.query('DELETE FROM daily_active_users WHERE day < $1::date', [ago(config.retentionDays).toISOString().slice(0, 10)]);
  deleted['daily_active_users'] = rowCount;
  await db.transaction(async (tx) => {
    await insertRows(tx, 'audit_log', [
      auditRow({ actor: 'retention-job', action: 'retention.run', resourceType: 'database', outcome: 'success', metadata: { deleted, retentionDays: config.retentionDays } }),
    ]);
  });
  await recordJobRun(db, 'retention', { deleted });
  return deleted;
}
