import * as units from '@grafana/grafana-foundation-sdk/units';
import type { DashboardBuilder } from '@grafana/grafana-foundation-sdk/dashboard';
import { DASHBOARD_UIDS } from '../src/authoring/index.js';
import { type DashboardContext, labelVariable, promql, ratio, section, sel, stackDashboard, statPanel, sumRate, timeseriesPanel } from './common/index.js';

const S = sel('job=~"$job"');
const DB = sel(S, 'datname=~"$datname"');

/** PostgreSQL servers, from postgres_exporter: availability, connections, transactions, locks, cache hits and sizes. */
export function postgres(_ctx: DashboardContext): DashboardBuilder {
  const d = stackDashboard({
    uid: DASHBOARD_UIDS.postgres,
    title: 'PostgreSQL',
    description: 'The PostgreSQL servers the stack watches (postgres_exporter, one job per server): connections against max_connections, transactions, deadlocks, long transactions, cache hit ratio and database sizes.',
    tags: ['database', 'postgresql'],
    datasources: ['prometheus'],
  })
    .withVariable(labelVariable({ name: 'job', label: 'server', series: 'pg_up' }))
    .withVariable(labelVariable({ name: 'datname', label: 'database', series: 'pg_stat_database_numbackends{job=~"$job",datname!~"template.*"}' }));

  section(d, 'Now', [
    statPanel({
      title: 'Up',
      description: 'Whether each exporter reaches its server (PostgresDown).',
      sparkline: false,
      baseColor: 'red',
      thresholds: [[1, 'green']],
      valueText: { 0: ['down', 'red'], 1: ['up', 'green'] },
      queries: [promql(`min by (job) (pg_up{${S}})`, '{{job}}')],
    }),
    statPanel({
      title: 'Connections used',
      description: 'Backends against max_connections (PostgresTooManyConnections at 80%).',
      unit: units.PercentUnit,
      thresholds: [[0.8, 'orange'], [0.95, 'red']],
      queries: [promql(ratio(`sum by (job) (pg_stat_database_numbackends{${S}})`, `max by (job) (pg_settings_max_connections{${S}})`), '{{job}}')],
    }),
    statPanel({
      title: 'Cache hit ratio',
      description: 'Share of block reads served from shared_buffers (PostgresCacheHitRatioLow under 90%).',
      unit: units.PercentUnit,
      baseColor: 'red',
      thresholds: [[0.9, 'orange'], [0.99, 'green']],
      queries: [promql(ratio(sumRate('pg_stat_database_blks_hit', DB), `${sumRate('pg_stat_database_blks_hit', DB)} + ${sumRate('pg_stat_database_blks_read', DB)}`))],
    }),
    statPanel({
      title: 'Longest transaction',
      description: 'Age of the oldest open transaction (PostgresLongRunningTransaction over 5 minutes).',
      unit: units.Seconds,
      thresholds: [[60, 'orange'], [300, 'red']],
      queries: [promql(`max(pg_stat_activity_max_tx_duration{${DB}})`)],
    }),
  ]);

  section(d, 'Activity', [
    timeseriesPanel({
      title: 'Connections by state',
      description: 'Sessions by state; many "idle in transaction" sessions hold locks and block VACUUM.',
      unit: units.Short,
      stacked: true,
      queries: [promql(`sum by (state) (pg_stat_activity_count{${DB}})`, '{{state}}'), promql(`max(pg_settings_max_connections{${S}})`, 'max_connections')],
    }),
    timeseriesPanel({
      title: 'Transactions',
      description: 'Commits and rollbacks per second, by database.',
      unit: units.OpsPerSecond,
      queries: [
        promql(sumRate('pg_stat_database_xact_commit', DB, ['datname']), 'commit {{datname}}'),
        promql(sumRate('pg_stat_database_xact_rollback', DB, ['datname']), 'rollback {{datname}}'),
      ],
    }),
    timeseriesPanel({
      title: 'Rows',
      description: 'Rows fetched, inserted, updated and deleted per second.',
      unit: units.OpsPerSecond,
      queries: [
        promql(sumRate('pg_stat_database_tup_fetched', DB), 'fetched'),
        promql(sumRate('pg_stat_database_tup_inserted', DB), 'inserted'),
        promql(sumRate('pg_stat_database_tup_updated', DB), 'updated'),
        promql(sumRate('pg_stat_database_tup_deleted', DB), 'deleted'),
      ],
    }),
    timeseriesPanel({
      title: 'Locks and deadlocks',
      description: 'Locks held by mode, and deadlocks detected (PostgresDeadlocks).',
      unit: units.Short,
      queries: [promql(`sum by (mode) (pg_locks_count{${DB}})`, '{{mode}}'), promql(`sum(increase(pg_stat_database_deadlocks{${DB}}[$__rate_interval]))`, 'deadlocks')],
    }),
  ]);

  section(d, 'Storage', [
    timeseriesPanel({
      title: 'Block reads',
      description: 'Blocks found in shared_buffers (hit) and read from disk or the OS cache (read), per second.',
      unit: units.OpsPerSecond,
      queries: [promql(sumRate('pg_stat_database_blks_hit', DB), 'hit'), promql(sumRate('pg_stat_database_blks_read', DB), 'read')],
    }),
    timeseriesPanel({
      title: 'Database size',
      description: 'Size of each database on disk.',
      unit: units.BytesIEC,
      queries: [promql(`sum by (job, datname) (pg_database_size_bytes{${DB}})`, '{{job}} {{datname}}')],
    }),
    timeseriesPanel({
      title: 'Temporary files',
      description: 'Bytes written to temporary files per second: sorts and hashes that do not fit work_mem.',
      unit: units.BytesPerSecondIEC,
      queries: [promql(sumRate('pg_stat_database_temp_bytes', DB, ['datname']), '{{datname}}')],
    }),
  ]);
  return d;
}
