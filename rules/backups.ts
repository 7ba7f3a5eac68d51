import { alert, type Duration, type Environment, firesWhen, group, humanDuration, type RuleGroup, runbooks, scheduleIntervalSeconds, silentWhen } from '../src/authoring/index.js';

/*
 * Whether the backups happen: Elasticsearch's snapshots (in elasticsearch.yaml)
 * and the ingest database's dumps (in postgres.yaml). Both alert when no
 * backup succeeded for twice the longest wait of the schedule: one missed run
 * is tolerated, two are not. An environment without backups has none of these
 * series, and the alerts stay silent.
 */

/** The repository and CronJob the stack creates (src/constructs/logging/snapshots.ts, src/constructs/ingest/backup.ts). */
const REPOSITORY = 'obstack-snapshots';
const CRONJOB = 'ingest-postgres-backup';
/** A schedule unknown to the rules (no backup configured) is taken as daily. */
const DAILY = 86_400;

const E = `job="elasticsearch",instance="es-exporter:9114",cluster="logs",repository="${REPOSITORY}"`;
const EL = { job: 'elasticsearch', cluster: 'logs', repository: REPOSITORY };
const KSM = `job="kube-state-metrics",instance="ksm:8080",namespace="obstack",cronjob="${CRONJOB}"`;
const KL = { namespace: 'obstack', cronjob: CRONJOB };

/** Minutes as a Prometheus duration, rounded up. */
const minutes = (seconds: number): Duration => `${Math.ceil(seconds / 60)}m`;

/** The test cases' clock: a step of about a twelfth of the wait, so that every case has a few dozen samples whatever the schedule. */
function clock(limit: number) {
  const step = Math.max(60, Math.ceil(limit / 24 / 60) * 60);
  const samples = Math.ceil(limit / step) + 4;
  const opts = { interval: minutes(step), evaluationInterval: minutes(step) };
  return { step, samples, at: minutes(limit + 2 * step), opts };
}

/** Elasticsearch's snapshots, from elasticsearch_exporter's snapshot collector (--collector.snapshots). */
export function snapshotRules(env: Environment): RuleGroup {
  const runbook = runbooks(env);
  const service = 'elasticsearch';
  const snapshots = env.components.elasticsearch.snapshots;
  const limit = 2 * (snapshots ? scheduleIntervalSeconds(snapshots.schedule) : DAILY);
  const c = clock(limit);
  const latest = `elasticsearch_snapshot_stats_latest_snapshot_timestamp_seconds{job="elasticsearch",repository="${REPOSITORY}"}`;
  const latestSeries = `elasticsearch_snapshot_stats_latest_snapshot_timestamp_seconds{${E}}`;
  const lastShards = (state: string) => `elasticsearch_snapshot_stats_snapshot_total_shards{${E},state="${state}",version="8.19.3"}`;
  return group({
    name: 'obstack.elasticsearch.snapshots',
    rules: [
      alert({
        alert: 'ElasticsearchSnapshotTooOld',
        expr: `time() - max by (job, cluster, repository) (${latest} > 0) > ${limit}`,
        severity: 'P3',
        service,
        summary: 'No Elasticsearch snapshot has succeeded in {{ $labels.repository }} for {{ $value | humanizeDuration }}',
        description: `The newest successful snapshot is older than ${humanDuration(limit)}, twice the wait between two scheduled snapshots: the lifecycle policy stopped, its snapshots fail, or the object store refuses them. A restore would lose everything since.`,
        runbook: runbook('ElasticsearchSnapshotTooOld'),
        tests: [
          firesWhen('the last success is two schedules old', { [latestSeries]: `1x${c.samples}` }, c.at, EL, c.opts),
          silentWhen('a snapshot succeeds on every schedule', { [latestSeries]: `0+${c.step}x${c.samples}` }, c.at, c.opts),
          silentWhen('the repository has no successful snapshot yet (ElasticsearchNoSnapshot watches that)', { [latestSeries]: `0x${c.samples}` }, c.at, c.opts),
        ],
      }),
      alert({
        alert: 'ElasticsearchNoSnapshot',
        expr: `max by (job, cluster, repository) (${latest}) == 0`,
        for: minutes(limit),
        severity: 'P3',
        service,
        summary: 'The Elasticsearch repository {{ $labels.repository }} holds no successful snapshot',
        description: ({ for: f }) =>
          `For ${humanDuration(f)}, twice the wait between two scheduled snapshots, the repository has held no snapshot in state SUCCESS or PARTIAL: the lifecycle policy never ran or every attempt failed.`,
        runbook: runbook('ElasticsearchNoSnapshot'),
        tests: [
          firesWhen('no snapshot ever succeeds', { [latestSeries]: `0x${c.samples}` }, c.at, EL, c.opts),
          silentWhen('the first snapshot succeeds', { [latestSeries]: `0 0 0 60x${c.samples}` }, c.at, c.opts),
        ],
      }),
      alert({
        alert: 'ElasticsearchSnapshotFailed',
        expr: `count by (job, cluster, repository, state) (elasticsearch_snapshot_stats_snapshot_total_shards{job="elasticsearch",repository="${REPOSITORY}",state=~"FAILED|PARTIAL"}) > 0`,
        severity: 'P3',
        service,
        summary: 'The last Elasticsearch snapshot in {{ $labels.repository }} ended {{ $labels.state }}',
        description:
          'The newest snapshot did not copy every shard (FAILED: none usable; PARTIAL: some shards missing). GET _slm/policy/obstack-snapshots shows the last failure; GET _snapshot/obstack-snapshots/_all the failed shards and why.',
        runbook: runbook('ElasticsearchSnapshotFailed'),
        tests: [
          firesWhen('the last snapshot failed', { [lastShards('FAILED')]: '10x20' }, '10m', { ...EL, state: 'FAILED' }),
          silentWhen('the last snapshot succeeded', { [lastShards('SUCCESS')]: '10x20' }, '10m'),
          silentWhen('a failed snapshot is followed by a good one', { [lastShards('FAILED')]: '10x5', [lastShards('SUCCESS')]: '_x5 10x15' }, '15m'),
        ],
      }),
    ],
  });
}

/** The ingest database's dump CronJob, from kube-state-metrics (a failed run also fires KubeJobFailed). */
export function postgresBackupRules(env: Environment): RuleGroup {
  const runbook = runbooks(env);
  const backup = env.components.ingest.database.type === 'in-cluster' ? env.components.ingest.database.backup : undefined;
  const limit = 2 * (backup ? scheduleIntervalSeconds(backup.schedule) : DAILY);
  const c = clock(limit);
  const sel = `job="kube-state-metrics",cronjob="${CRONJOB}"`;
  return group({
    name: 'obstack.postgres.backups',
    rules: [
      alert({
        alert: 'IngestDatabaseBackupTooOld',
        // A CronJob that never succeeded counts from its creation.
        expr: `time() - max by (namespace, cronjob) (kube_cronjob_status_last_successful_time{${sel}} or kube_cronjob_created{${sel}}) > ${limit}`,
        severity: 'P3',
        service: 'postgresql',
        summary: 'The ingest database has not been backed up for {{ $value | humanizeDuration }}',
        description: `No run of the CronJob {{ $labels.cronjob }} has succeeded for more than ${humanDuration(limit)}, twice the wait between two scheduled runs: dumps fail (see KubeJobFailed and the Job's logs), the CronJob is suspended, or the object store refuses the upload. A restore would lose everything since the last good dump.`,
        runbook: runbook('IngestDatabaseBackupTooOld'),
        tests: [
          firesWhen('the last success is two schedules old', { [`kube_cronjob_status_last_successful_time{${KSM}}`]: `0x${c.samples}`, [`kube_cronjob_created{${KSM}}`]: `0x${c.samples}` }, c.at, KL, c.opts),
          firesWhen('no run ever succeeded', { [`kube_cronjob_created{${KSM}}`]: `0x${c.samples}` }, c.at, KL, c.opts),
          silentWhen('a run succeeds on every schedule', { [`kube_cronjob_status_last_successful_time{${KSM}}`]: `0+${c.step}x${c.samples}`, [`kube_cronjob_created{${KSM}}`]: `0x${c.samples}` }, c.at, c.opts),
          silentWhen('the CronJob was created less than two schedules ago', { [`kube_cronjob_created{${KSM}}`]: `${c.step * 4}x${c.samples}` }, c.at, c.opts),
        ],
      }),
    ],
  });
}
