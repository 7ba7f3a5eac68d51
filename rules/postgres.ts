import { alert, type Environment, firesWhen, group, humanDuration, humanNumber, type RuleGroup, runbooks, silentWhen } from '../src/authoring/index.js';
import { postgresBackupRules } from './backups.js';

// Labels as postgres_exporter writes them (job postgres-<name>, see src/constructs/exporters/postgres-exporter.ts).
const P = 'job="postgres-ingest",instance="10.0.0.4:9187"';
const PL = { job: 'postgres-ingest', instance: '10.0.0.4:9187' };
const SERVER = 'server="ingest-postgres:5432"';
const DB = `${P},datid="16384",datname="ingest"`;

/**
 * PostgreSQL, from prometheus-community/postgres_exporter: any exporter
 * Prometheus scrapes (the stack runs one per server, job `postgres-<name>`).
 * The pg_* names read here are exposed alike by the exporter's 0.11 and 0.17 lines.
 */
export function postgresRules(env: Environment): RuleGroup[] {
  const runbook = runbooks(env);
  const service = 'postgresql';
  const by = 'sum by (job, instance)';
  const byDb = 'sum by (job, instance, datname)';
  const hitRatio = (t: number) =>
    `100 * ${byDb} (rate(pg_stat_database_blks_hit[10m])) / (${byDb} (rate(pg_stat_database_blks_hit[10m])) + ${byDb} (rate(pg_stat_database_blks_read[10m])) > 10) < ${t}`;
  return [
    group({
      name: 'obstack.postgres',
      rules: [
        alert({
          alert: 'PostgresExporterDown',
          expr: 'up{job=~"postgres-.+"} == 0',
          for: '5m',
          severity: 'P3',
          service,
          summary: 'The PostgreSQL exporter {{ $labels.job }} cannot be scraped',
          description: ({ for: f }) => `Prometheus has failed to scrape {{ $labels.instance }} (job {{ $labels.job }}) for ${humanDuration(f)}: the database's alerts cannot fire.`,
          runbook: runbook('PostgresExporterDown'),
          tests: [
            firesWhen('the exporter fails every scrape', { [`up{${P}}`]: '0x20' }, '10m', PL),
            silentWhen('the exporter is up', { [`up{${P}}`]: '1x20' }, '10m'),
          ],
        }),
        alert({
          alert: 'PostgresDown',
          expr: 'pg_up == 0',
          for: '2m',
          severity: 'P2',
          service,
          summary: 'PostgreSQL behind {{ $labels.job }} does not answer',
          description: ({ for: f }) =>
            `The exporter {{ $labels.instance }} has not been able to connect to its PostgreSQL server for ${humanDuration(f)}: the server is down, refuses the monitoring login, or is unreachable. Its applications cannot read or write.`,
          runbook: runbook('PostgresDown'),
          tests: [
            firesWhen('the exporter cannot connect', { [`pg_up{${P}}`]: '0x10' }, '5m', PL),
            silentWhen('the server answers', { [`pg_up{${P}}`]: '1x10' }, '5m'),
            silentWhen('the server was away for one minute', { [`pg_up{${P}}`]: '1x3 0 1x6' }, '5m'),
          ],
        }),
        alert({
          alert: 'PostgresTooManyConnections',
          threshold: 80,
          expr: (t) => `100 * ${by} (pg_stat_database_numbackends) / max by (job, instance) (pg_settings_max_connections) > ${t}`,
          for: '5m',
          severity: 'P3',
          service,
          summary: ({ threshold }) => `PostgreSQL behind {{ $labels.job }} uses more than ${humanNumber(threshold)}% of its connections`,
          description:
            '{{ printf "%.0f" $value }}% of max_connections are taken: once they are all taken, new clients are refused ("too many clients already"). Look for connection leaks or pools sized beyond the server.',
          runbook: runbook('PostgresTooManyConnections'),
          tests: [
            firesWhen('90 of 100 connections are taken', { [`pg_stat_database_numbackends{${DB}}`]: '90x10', [`pg_settings_max_connections{${P},${SERVER}}`]: '100x10' }, '8m', PL),
            silentWhen('20 of 100 connections are taken', { [`pg_stat_database_numbackends{${DB}}`]: '20x10', [`pg_settings_max_connections{${P},${SERVER}}`]: '100x10' }, '8m'),
          ],
        }),
        alert({
          alert: 'PostgresDeadlocks',
          expr: `${byDb} (increase(pg_stat_database_deadlocks[10m])) > 0`,
          severity: 'P3',
          service,
          summary: 'Deadlocks in PostgreSQL database {{ $labels.datname }}',
          description:
            '{{ printf "%.0f" $value }} transactions of {{ $labels.datname }} were aborted as deadlocked in the last 10 minutes: two code paths take the same locks in opposite orders, and their callers see errors.',
          runbook: runbook('PostgresDeadlocks'),
          tests: [
            firesWhen('a deadlock was detected', { [`pg_stat_database_deadlocks{${DB}}`]: '0x3 1x5' }, '5m', { ...PL, datname: 'ingest' }),
            silentWhen('no deadlock happened', { [`pg_stat_database_deadlocks{${DB}}`]: '2x20' }, '15m'),
          ],
        }),
        alert({
          alert: 'PostgresLongRunningTransaction',
          threshold: 300,
          expr: (t) => `max by (job, instance, datname) (pg_stat_activity_max_tx_duration) > ${t}`,
          for: '2m',
          severity: 'P3',
          service,
          summary: 'A transaction on PostgreSQL database {{ $labels.datname }} has been open for {{ $value | humanizeDuration }}',
          description: ({ threshold }) =>
            `A transaction has been open for more than ${humanDuration(threshold)}: it holds its locks and keeps VACUUM from removing dead rows, so tables bloat and other writers wait. Often a session left "idle in transaction".`,
          runbook: runbook('PostgresLongRunningTransaction'),
          tests: [
            firesWhen('a transaction stays open for 10 minutes', { [`pg_stat_activity_max_tx_duration{${P},${SERVER},datname="ingest",state="idle in transaction"}`]: '0+60x15' }, '12m', { ...PL, datname: 'ingest' }),
            silentWhen('transactions last a second', { [`pg_stat_activity_max_tx_duration{${P},${SERVER},datname="ingest",state="active"}`]: '1x15' }, '12m'),
          ],
        }),
        alert({
          alert: 'PostgresCacheHitRatioLow',
          threshold: 90,
          expr: hitRatio,
          for: '30m',
          severity: 'P4',
          service,
          summary: ({ threshold }) => `PostgreSQL database {{ $labels.datname }} finds less than ${humanNumber(threshold)}% of its blocks in memory`,
          description:
            'Only {{ printf "%.1f" $value }}% of block reads of {{ $labels.datname }} hit shared_buffers: queries wait on disk. The working set outgrew the memory, or a query scans more than it should.',
          runbook: runbook('PostgresCacheHitRatioLow'),
          tests: [
            firesWhen('half of the reads go to disk', { [`pg_stat_database_blks_hit{${DB}}`]: '0+6000x60', [`pg_stat_database_blks_read{${DB}}`]: '0+6000x60' }, '50m', { ...PL, datname: 'ingest' }),
            silentWhen('99% of the reads hit memory', { [`pg_stat_database_blks_hit{${DB}}`]: '0+59400x60', [`pg_stat_database_blks_read{${DB}}`]: '0+600x60' }, '50m'),
            silentWhen('the database is idle', { [`pg_stat_database_blks_hit{${DB}}`]: '0+1x60', [`pg_stat_database_blks_read{${DB}}`]: '0+1x60' }, '50m'),
          ],
        }),
      ],
    }),
    postgresBackupRules(env),
  ];
}
