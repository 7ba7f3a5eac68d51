import { describe, expect, it } from 'vitest';
import { postgresBackupRules, snapshotRules } from '../../../rules/backups.js';
import { compileRuleTests, isAlert } from '../../../src/authoring/index.js';
import { elasticsearchCron, scheduleIntervalSeconds } from '../../../src/config/index.js';
import { BACKUP_CRONJOB, BACKUP_ROLE, DUMP_SCRIPT, UPLOAD_SCRIPT } from '../../../src/constructs/ingest/backup.js';
import { CREATE_SERVICE_ROLES, MONITOR_ROLE } from '../../../src/constructs/ingest/postgres.js';
import { checkSecurityPolicy, validateKubernetesSchema } from '../../../src/validate/index.js';
import { runRuleTests } from '../../../src/validate/rules-tests.js';
import { type Json, environment, find, synth } from '../helpers.js';

const DATABASE = {
  type: 'in-cluster',
  storage: { type: 'ephemeral' },
  resources: { requests: { cpu: '100m', memory: '256Mi' }, limits: { cpu: '1', memory: '512Mi' } },
  password: { secretName: 'ingest-postgres', key: 'password' },
  readerPassword: { secretName: 'ingest-postgres', key: 'reader-password' },
};
const BACKUP = { schedule: '15 2 * * *', retention: { count: 14 }, destination: { type: 's3', bucket: 'obstack-backups', prefix: 'prod/ingest', credentials: { secretName: 'backup-s3' } } };
const withBackup = (backup: unknown = BACKUP) => environment({ components: { ingest: { database: { ...DATABASE, backup } } } });
const env = (o: Json, name: string) => o.spec.jobTemplate.spec.template.spec.initContainers?.find((c: Json) => c.name === name) ?? o.spec.jobTemplate.spec.template.spec.containers.find((c: Json) => c.name === name);

describe('the ingest database backup CronJob', () => {
  it('dumps as the read-only role into an emptyDir, then uploads and prunes, one run at a time and bounded', () => {
    const { objects } = synth(withBackup());
    const cron = find(objects, 'CronJob', BACKUP_CRONJOB) as Json;
    expect(cron.spec).toMatchObject({ schedule: '15 2 * * *', timeZone: 'Etc/UTC', concurrencyPolicy: 'Forbid' });
    expect(cron.spec.jobTemplate.spec).toMatchObject({ backoffLimit: 2, activeDeadlineSeconds: 10800 });
    const pod = cron.spec.jobTemplate.spec.template.spec;
    expect(pod.automountServiceAccountToken).toBe(false);
    const dump = env(cron, 'dump');
    expect(dump.image).toBe('docker.io/library/postgres:16.10-bookworm');
    expect(dump.command).toEqual(['/bin/sh', '-c', DUMP_SCRIPT]);
    expect(dump.env).toContainEqual({ name: 'PGUSER', value: BACKUP_ROLE });
    expect(dump.env).toContainEqual({ name: 'PGHOST', value: 'ingest-postgres.obs-test.svc.cluster.local' });
    expect(dump.env).toContainEqual({ name: 'PGPASSWORD', valueFrom: { secretKeyRef: { name: 'ingest-postgres', key: 'backup-password' } } });
    const upload = env(cron, 'upload');
    expect(upload.command).toEqual(['/bin/sh', '-c', UPLOAD_SCRIPT]);
    expect(upload.env).toEqual(expect.arrayContaining([
      { name: 'KEEP_COUNT', value: '14' },
      { name: 'BUCKET', value: 'obstack-backups' },
      { name: 'PREFIX', value: 'prod/ingest' },
      { name: 'RCLONE_CONFIG_BACKUP_PROVIDER', value: 'AWS' },
      { name: 'RCLONE_CONFIG_BACKUP_ACCESS_KEY_ID', valueFrom: { secretKeyRef: { name: 'backup-s3', key: 'access-key-id' } } },
    ]));
    for (const c of [dump, upload]) expect(c.securityContext).toMatchObject({ runAsNonRoot: true, readOnlyRootFilesystem: true, allowPrivilegeEscalation: false });
    expect(dump.volumeMounts).toContainEqual({ name: 'backup', mountPath: '/backup' });
    expect(upload.volumeMounts).toContainEqual({ name: 'backup', mountPath: '/backup' });
    expect(validateKubernetesSchema(objects)).toEqual([]);
    expect(checkSecurityPolicy(objects)).toEqual([]);
  });

  it('reaches only PostgreSQL and the object store, and PostgreSQL lets it in', () => {
    const { objects } = synth(withBackup({ ...BACKUP, retention: { days: 30 }, destination: { ...BACKUP.destination, endpoint: 'https://s3.eu.example.net:8443' } }));
    const egress = (find(objects, 'NetworkPolicy', BACKUP_CRONJOB) as Json).spec.egress;
    expect(egress.slice(1)).toEqual([
      { to: [{ podSelector: { matchLabels: { 'app.kubernetes.io/name': 'ingest-postgres', 'app.kubernetes.io/instance': 'test' } } }], ports: [{ port: 5432, protocol: 'TCP' }] },
      { to: [{ ipBlock: { cidr: '0.0.0.0/0' } }], ports: [{ port: 8443, protocol: 'TCP' }] },
    ]);
    expect((find(objects, 'NetworkPolicy', BACKUP_CRONJOB) as Json).spec.ingress ?? []).toEqual([]);
    const from = (find(objects, 'NetworkPolicy', 'ingest-postgres') as Json).spec.ingress.flatMap((r: Json) => r.from.map((f: Json) => f.podSelector?.matchLabels['app.kubernetes.io/name']));
    expect(from).toContain(BACKUP_CRONJOB);
    const upload = env(find(objects, 'CronJob', BACKUP_CRONJOB) as Json, 'upload');
    expect(upload.env).toEqual(expect.arrayContaining([{ name: 'KEEP_DAYS', value: '30' }, { name: 'RCLONE_CONFIG_BACKUP_PROVIDER', value: 'Other' }, { name: 'RCLONE_CONFIG_BACKUP_ENDPOINT', value: 'https://s3.eu.example.net:8443' }]));
    expect(upload.env.some((e: Json) => e.name === 'KEEP_COUNT')).toBe(false);
  });

  it('creates the backup and monitoring roles at the first start, each from its Secret key', () => {
    const { objects } = synth(withBackup());
    const init = (find(objects, 'ConfigMap', 'ingest-postgres-init') as Json).data;
    expect(init['20-service-roles.sh']).toBe(CREATE_SERVICE_ROLES);
    expect(CREATE_SERVICE_ROLES).toContain(`GRANT pg_read_all_data TO ${BACKUP_ROLE}`);
    expect(CREATE_SERVICE_ROLES).toContain(`GRANT pg_monitor TO ${MONITOR_ROLE}`);
    const pg = (find(objects, 'StatefulSet', 'ingest-postgres') as Json).spec.template.spec.containers[0];
    expect(pg.env).toContainEqual({ name: 'BACKUP_PASSWORD', valueFrom: { secretKeyRef: { name: 'ingest-postgres', key: 'backup-password' } } });
    expect(pg.env).toContainEqual({ name: 'MONITOR_PASSWORD', valueFrom: { secretKeyRef: { name: 'ingest-postgres', key: 'monitor-password' } } });
    // Without a backup: no CronJob and no backup password, the monitoring role still.
    const plain = synth(environment()).objects;
    expect(plain.some((o) => o.metadata.name === BACKUP_CRONJOB)).toBe(false);
    const plainPg = (find(plain, 'StatefulSet', 'ingest-postgres') as Json).spec.template.spec.containers[0];
    expect(plainPg.env.some((e: Json) => e.name === 'BACKUP_PASSWORD')).toBe(false);
    expect(plainPg.env.some((e: Json) => e.name === 'MONITOR_PASSWORD')).toBe(true);
  });

  it('refuses a bad schedule, retention or bucket, naming the field', () => {
    const message = (backup: unknown): string => {
      try {
        withBackup(backup);
        return '';
      } catch (err) {
        return (err as Error).message;
      }
    };
    expect(message({ ...BACKUP, schedule: 'daily' })).toMatch(/database\.backup\.schedule.*five fields/s);
    expect(message({ ...BACKUP, retention: { count: 3, days: 7 } })).toMatch(/backup\.retention.*exactly one of count and days/s);
    expect(message({ ...BACKUP, retention: {} })).toMatch(/backup\.retention.*exactly one of count and days/s);
    expect(message({ ...BACKUP, destination: { ...BACKUP.destination, bucket: 'Bad_Bucket' } })).toMatch(/destination\.bucket.*bucket name/s);
    expect(message({ ...BACKUP, schedule: '0 0 30 2 *' })).toMatch(/backup\.schedule.*never runs/s);
  });
});

describe('the backup alerts', () => {
  it('wait twice the longest gap of the schedule, and their promtool cases pass for hourly, weekday and monthly schedules', () => {
    for (const [schedule, gap] of [['5 * * * *', 3600], ['0 3 * * 1-5', 3 * 86400], ['0 4 1 * *', 31 * 86400]] as const) {
      expect(scheduleIntervalSeconds(schedule)).toBe(gap);
      const e = environment({
        components: {
          ingest: { database: { ...DATABASE, backup: { ...BACKUP, schedule } } },
          elasticsearch: { snapshots: { repository: { type: 'gcs', bucket: 'snaps', clientSecret: { secretName: 'es-gcs' } }, schedule, retention: { expireAfter: '30d', minCount: 1, maxCount: 10 } } },
        },
      });
      const groups = [postgresBackupRules(e), snapshotRules(e)];
      const pgAlert = groups[0]!.rules.find(isAlert)!;
      expect(pgAlert.expr).toContain(`> ${2 * gap}`);
      expect(pgAlert.expr).toContain(`cronjob="${BACKUP_CRONJOB}"`);
      const result = runRuleTests(compileRuleTests({ 'backups.yaml': groups }));
      expect(result.output).not.toContain('FAILED');
      expect(result.ok).toBe(true);
    }
  }, 120_000);

  it('translate the schedule for Elasticsearch: seconds first, "?" for the free day field, weekdays by name', () => {
    expect(elasticsearchCron('30 1 * * *')).toBe('0 30 1 * * ?');
    expect(elasticsearchCron('*/15 * * * *')).toBe('0 */15 * * * ?');
    expect(elasticsearchCron('0 2 * * 0,6')).toBe('0 0 2 ? * SUN,SAT');
    expect(elasticsearchCron('0 2 * * 7')).toBe('0 0 2 ? * SUN');
    expect(elasticsearchCron('0 4 1 * *')).toBe('0 0 4 1 * ?');
  });
});
