import { k8s } from 'cdk8s-plus-27';
import type { Construct } from 'constructs';
import type { Image, IngestBackup } from '../../config/index.js';
import { IMAGE_UIDS } from '../../config/index.js';
import { StackComponent } from '../common/component.js';
import { containerSecurityContext, podSecurityContext, resourceRequirements } from '../common/security.js';
import type { ScrapeEndpoint } from '../prometheus/scrape.js';

/**
 * Backups of the ingest database: a CronJob whose first container takes a
 * `pg_dump --format=custom` into an emptyDir, and whose second uploads it to
 * an S3 bucket and prunes the dumps beyond the retention. The scripts are
 * plain sh, exported, so that the tests run the very commands the pods run.
 */

/** The read-only role the dumps are taken as: `pg_read_all_data` reads every table and sequence, and may change nothing. */
export const BACKUP_ROLE = 'ingest_backup';

/** The CronJob's name; the backup-age alert selects it (kube-state-metrics' `cronjob` label). */
export const BACKUP_CRONJOB = 'ingest-postgres-backup';

/** The emptyDir both containers share. */
export const BACKUP_DIR = '/backup';

/**
 * Takes one dump into `$BACKUP_DIR`, as `ingest-<UTC time>.dump` (names sort by
 * age). pg_dump reads one snapshot of the database in a repeatable-read
 * transaction, so a dump taken under writes is consistent; the connection comes
 * from libpq's variables (PGHOST, PGPORT, PGUSER, PGDATABASE, PGPASSWORD). The
 * archive is written under a temporary name and listed back before it counts.
 */
export const DUMP_SCRIPT = `set -eu
stamp="$(date -u +%Y%m%dT%H%M%SZ)"
file="$BACKUP_DIR/ingest-$stamp.dump"
pg_dump --format=custom --compress=6 --no-password --file="$file.partial"
pg_restore --list "$file.partial" > /dev/null
mv "$file.partial" "$file"
echo "dumped $(basename "$file"): $(wc -c < "$file") bytes"
`;

/**
 * Uploads the dumps of `$BACKUP_DIR` to `backup:$BUCKET/$PREFIX`, then prunes:
 * with `$KEEP_DAYS`, the dumps older than that many days; with `$KEEP_COUNT`,
 * all but that many newest. It runs only after an upload succeeded, so the
 * newest dump is never pruned, even when backups stopped for longer than the retention.
 */
export const UPLOAD_SCRIPT = `set -eu
dest="backup:$BUCKET/$PREFIX"
rclone copy "$BACKUP_DIR" "$dest" --include 'ingest-*.dump' --no-traverse
if [ -n "\${KEEP_DAYS:-}" ]; then
  rclone delete "$dest" --include 'ingest-*.dump' --min-age "\${KEEP_DAYS}d"
else
  rclone lsf "$dest" --files-only --include 'ingest-*.dump' | sort -r | awk -v keep="$KEEP_COUNT" 'NR > keep' |
    while read -r old; do rclone deletefile "$dest/$old"; done
fi
rclone lsf "$dest" --files-only --include 'ingest-*.dump'
`;

/**
 * Restores a dump into the database named by PGDATABASE, as the owner of its
 * objects: every object of the dump is dropped if it exists and created again,
 * in one transaction, stopping at the first error (nothing half-restored).
 * The roles (ingest, grafana_reader) are not in a dump: they belong to the
 * server, and the restored grants name them.
 */
export const RESTORE_SCRIPT = `set -eu
pg_restore --clean --if-exists --single-transaction --exit-on-error --no-password --dbname="$PGDATABASE" "$DUMP_FILE"
`;

export interface IngestPostgresBackupProps {
  readonly namespace: string;
  readonly instance: string;
  readonly settings: IngestBackup;
  /** The postgres image (pg_dump of the server's own major version). */
  readonly postgresImage: Image;
  readonly uploaderImage: Image;
  /** The database: its Service host, port and pods. */
  readonly database: { readonly host: string; readonly port: number; readonly selector: Record<string, string> };
}

/** The backup CronJob of the ingest database, its ServiceAccount and NetworkPolicy. */
export class IngestPostgresBackup extends StackComponent {
  constructor(scope: Construct, id: string, props: IngestPostgresBackupProps) {
    super(scope, id, {
      name: BACKUP_CRONJOB,
      namespace: props.namespace,
      instance: props.instance,
      version: props.postgresImage.tag,
      component: 'analytics-database-backup',
      ports: [],
    });
    const s = props.settings;
    const d = s.destination;
    const pgUid = IMAGE_UIDS.postgres;
    const upUid = IMAGE_UIDS.backupUploader;
    this.addServiceAccount();
    const secret = (name: string, secretName: string, key: string): k8s.EnvVar => ({ name, valueFrom: { secretKeyRef: { name: secretName, key } } });
    const scratch: k8s.VolumeMount[] = [
      { name: 'backup', mountPath: BACKUP_DIR },
      { name: 'tmp', mountPath: '/tmp' },
    ];
    const remote = 'RCLONE_CONFIG_BACKUP';
    new k8s.KubeCronJob(this, 'Resource', {
      metadata: { name: this.name, labels: this.labels },
      spec: {
        schedule: s.schedule,
        timeZone: 'Etc/UTC',
        concurrencyPolicy: 'Forbid',
        // A run missed by more than an hour (controller down) is skipped, not run late; the age alert sees it.
        startingDeadlineSeconds: 3600,
        successfulJobsHistoryLimit: 1,
        failedJobsHistoryLimit: 3,
        jobTemplate: {
          spec: {
            backoffLimit: 2,
            activeDeadlineSeconds: 3 * 3600,
            ttlSecondsAfterFinished: 7 * 24 * 3600,
            template: {
              metadata: { labels: this.labels },
              spec: {
                serviceAccountName: this.name,
                automountServiceAccountToken: false,
                restartPolicy: 'Never',
                securityContext: podSecurityContext(upUid, pgUid),
                initContainers: [
                  {
                    name: 'dump',
                    image: `${props.postgresImage.repository}:${props.postgresImage.tag}`,
                    command: ['/bin/sh', '-c', DUMP_SCRIPT],
                    env: [
                      { name: 'PGHOST', value: props.database.host },
                      { name: 'PGPORT', value: String(props.database.port) },
                      { name: 'PGDATABASE', value: 'ingest' },
                      { name: 'PGUSER', value: BACKUP_ROLE },
                      secret('PGPASSWORD', s.password.secretName, s.password.key),
                      { name: 'PGAPPNAME', value: 'obstack-backup' },
                      { name: 'BACKUP_DIR', value: BACKUP_DIR },
                    ],
                    resources: resourceRequirements({ requests: { cpu: '100m', memory: '128Mi' }, limits: { cpu: '1', memory: '512Mi' } }),
                    securityContext: containerSecurityContext(pgUid),
                    volumeMounts: scratch,
                  },
                ],
                containers: [
                  {
                    name: 'upload',
                    image: `${props.uploaderImage.repository}:${props.uploaderImage.tag}`,
                    command: ['/bin/sh', '-c', UPLOAD_SCRIPT],
                    env: [
                      { name: 'BACKUP_DIR', value: BACKUP_DIR },
                      { name: 'BUCKET', value: d.bucket },
                      { name: 'PREFIX', value: d.prefix },
                      s.retention.days !== undefined ? { name: 'KEEP_DAYS', value: String(s.retention.days) } : { name: 'KEEP_COUNT', value: String(s.retention.count) },
                      { name: 'HOME', value: '/tmp' },
                      { name: 'RCLONE_CONFIG', value: '/tmp/rclone.conf' },
                      { name: `${remote}_TYPE`, value: 's3' },
                      { name: `${remote}_PROVIDER`, value: d.endpoint === undefined ? 'AWS' : 'Other' },
                      { name: `${remote}_ENV_AUTH`, value: 'false' },
                      { name: `${remote}_REGION`, value: d.region },
                      ...(d.endpoint !== undefined ? [{ name: `${remote}_ENDPOINT`, value: d.endpoint }] : []),
                      // The key may put, list and delete in the prefix; it need not create or inspect buckets.
                      { name: `${remote}_NO_CHECK_BUCKET`, value: 'true' },
                      secret(`${remote}_ACCESS_KEY_ID`, d.credentials.secretName, d.credentials.accessKeyIdKey),
                      secret(`${remote}_SECRET_ACCESS_KEY`, d.credentials.secretName, d.credentials.secretAccessKeyKey),
                    ],
                    resources: resourceRequirements({ requests: { cpu: '50m', memory: '64Mi' }, limits: { cpu: '500m', memory: '256Mi' } }),
                    securityContext: containerSecurityContext(upUid),
                    volumeMounts: scratch,
                  },
                ],
                volumes: [
                  // Sized for the dump: the custom format is compressed, a few times smaller than the database.
                  { name: 'backup', emptyDir: { sizeLimit: k8s.Quantity.fromString('8Gi') } },
                  { name: 'tmp', emptyDir: { sizeLimit: k8s.Quantity.fromString('64Mi') } },
                ],
              },
            },
          },
        },
      },
    });
    this.egress.push({ peers: [{ pods: props.database.selector }], ports: [{ port: props.database.port }] });
    // The object store's addresses are not known in advance: its port only.
    this.egress.push({ peers: [{ cidr: '0.0.0.0/0' }], ports: [{ port: endpointPort(d.endpoint) }] });
    this.addNetworkPolicy();
  }

  get scrapeEndpoints(): readonly ScrapeEndpoint[] {
    return [];
  }
}

/** 443, or the port of an S3-compatible endpoint. */
export function endpointPort(endpoint: string | undefined): number {
  if (endpoint === undefined) return 443;
  const url = new URL(endpoint);
  return url.port !== '' ? Number(url.port) : url.protocol === 'http:' ? 80 : 443;
}
