import { k8s } from 'cdk8s-plus-27';
import type { Construct } from 'constructs';
import type { Image, IngestBackup, Resources, SecretRef, Storage } from '../../config/index.js';
import { IMAGES, IMAGE_UIDS } from '../../config/index.js';
import { StackComponent } from '../common/component.js';
import { containerSecurityContext, memoryBytes, podSecurityContext, resourceRequirements } from '../common/security.js';
import { dataVolume } from '../common/storage.js';
import type { ScrapeEndpoint } from '../prometheus/scrape.js';
import { BACKUP_ROLE, IngestPostgresBackup } from './backup.js';

export interface IngestPostgresProps {
  readonly namespace: string;
  readonly instance: string;
  readonly storage: Storage;
  readonly resources: Resources;
  readonly image: Image;
  readonly password: SecretRef;
  /**
   * Password of `postgres`, the bootstrap superuser the image creates; only
   * the init scripts and an administrator use it, never the service.
   * @default - the key `superuser-password` of the Secret holding `password`
   */
  readonly superuserPassword?: SecretRef;
  /** Password of `grafana_reader`, the read-only role dashboards query with. */
  readonly readerPassword: SecretRef;
  /** Password of `postgres_exporter`, the pg_monitor role; the role exists only when given. */
  readonly monitorPassword?: SecretRef;
  /** Password of `ingest_backup`, the pg_read_all_data role the dumps are taken as; the role exists only when given. */
  readonly backupPassword?: SecretRef;
  /** Dumps on a schedule to an S3 bucket (a CronJob beside the database). @default - no backup */
  readonly backup?: IngestBackup;
  /** @default IMAGES.backupUploader */
  readonly uploaderImage?: Image;
  /** @default 'cluster.local' */
  readonly clusterDomain?: string;
}

const PORT = 5432;

/**
 * PostgreSQL's memory settings from the container's memory limit, since its
 * defaults know nothing of the container: a quarter of the limit for
 * `shared_buffers` (PostgreSQL's own guidance for a dedicated server; the
 * default is 128 MB whatever the limit), three quarters as
 * `effective_cache_size` (what the planner assumes the page cache holds; the
 * default, 4 GB, is more than a small container has) and a sixteenth,
 * between 16 MB and 1 GB, as `maintenance_work_mem` for the index builds of
 * migrations and VACUUM. Durability settings stay PostgreSQL's: fsync and
 * synchronous commits on.
 */
export function postgresSettings(memoryLimit: string): Record<string, string> {
  const mib = Math.floor(memoryBytes(memoryLimit) / 2 ** 20);
  return {
    shared_buffers: `${Math.max(16, Math.floor(mib / 4))}MB`,
    effective_cache_size: `${Math.max(32, Math.floor((mib * 3) / 4))}MB`,
    maintenance_work_mem: `${Math.min(1024, Math.max(16, Math.floor(mib / 16)))}MB`,
  };
}

/** The read-only role Grafana logs in with; the service's migrations grant it the aggregate tables only. */
export const READER_ROLE = 'grafana_reader';

/** The role the service logs in as: it owns the database, so its migrations create and own every table. */
export const OWNER_ROLE = 'ingest';
/** The image's bootstrap superuser: it runs the init scripts and nothing else. */
export const SUPERUSER_ROLE = 'postgres';

/**
 * Run first by the image's entrypoint, as the superuser, when the data folder
 * is initialised: the service's role, a plain login with no attribute beyond
 * it, made owner of the database the image created. PostgreSQL 15+ has the
 * public schema owned by pg_database_owner, so the owner may create in it;
 * the migrations need nothing more (no extension; their SECURITY DEFINER
 * functions run as their owner).
 */
export const CREATE_OWNER = `#!/bin/sh
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" --set=owner_password="$INGEST_PASSWORD" <<'SQL'
CREATE ROLE ${OWNER_ROLE} LOGIN PASSWORD :'owner_password' NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS;
ALTER DATABASE ingest OWNER TO ${OWNER_ROLE};
SQL
`;

/**
 * Run once by the image's entrypoint when the data folder is initialised. psql's
 * :'var' quoting keeps the password a literal whatever it contains.
 */
export const CREATE_READER = `#!/bin/sh
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" --set=reader_password="$READER_PASSWORD" <<'SQL'
CREATE ROLE ${READER_ROLE} LOGIN PASSWORD :'reader_password';
GRANT CONNECT ON DATABASE ingest TO ${READER_ROLE};
GRANT USAGE ON SCHEMA public TO ${READER_ROLE};
SQL
`;

/**
 * Once, on a database initialised when `ingest` was the image's superuser
 * (README, "one-time"): run by a temporary superuser, since a session cannot
 * rename its own role. The old superuser becomes `postgres` (PostgreSQL 16
 * refuses to take SUPERUSER from the bootstrap role, renaming it is allowed),
 * a new plain `ingest` takes over the database and everything the migrations
 * made in it; grants follow the owner. psql variables: superuser_password, owner_password.
 */
export const SEPARATE_SUPERUSER_SQL = `ALTER ROLE ${OWNER_ROLE} RENAME TO ${SUPERUSER_ROLE};
ALTER ROLE ${SUPERUSER_ROLE} PASSWORD :'superuser_password';
CREATE ROLE ${OWNER_ROLE} LOGIN PASSWORD :'owner_password' NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS;
ALTER DATABASE ingest OWNER TO ${OWNER_ROLE};
DO $$
DECLARE r record;
BEGIN
  -- Tables take their indexes and column sequences with them.
  FOR r IN SELECT c.oid::regclass AS obj, c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = 'public' AND c.relowner = '${SUPERUSER_ROLE}'::regrole AND c.relkind IN ('r', 'p', 'v', 'm', 'S')
      AND NOT (c.relkind = 'S' AND EXISTS (SELECT FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype IN ('a', 'i')))
  LOOP
    EXECUTE format('ALTER %s %s OWNER TO ${OWNER_ROLE}', CASE r.relkind WHEN 'S' THEN 'SEQUENCE' WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW' ELSE 'TABLE' END, r.obj);
  END LOOP;
  FOR r IN SELECT p.oid::regprocedure AS obj FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
    WHERE n.nspname = 'public' AND p.proowner = '${SUPERUSER_ROLE}'::regrole
  LOOP
    EXECUTE format('ALTER ROUTINE %s OWNER TO ${OWNER_ROLE}', r.obj);
  END LOOP;
END $$;
`;

/** The role postgres_exporter logs in as: pg_monitor reads the statistics views and every session's activity, and no table. */
export const MONITOR_ROLE = 'postgres_exporter';

/**
 * Run once after CREATE_READER, when the data folder is initialised: the
 * monitoring and backup roles, each only when its password is set. Neither
 * owns anything or may write: pg_monitor reads statistics, pg_read_all_data
 * reads every table and sequence (what pg_dump needs) and nothing else.
 */
export const CREATE_SERVICE_ROLES = `#!/bin/sh
set -eu
if [ -n "\${MONITOR_PASSWORD:-}" ]; then
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" --set=monitor_password="$MONITOR_PASSWORD" <<'SQL'
CREATE ROLE ${MONITOR_ROLE} LOGIN PASSWORD :'monitor_password' CONNECTION LIMIT 5;
GRANT pg_monitor TO ${MONITOR_ROLE};
SQL
fi
if [ -n "\${BACKUP_PASSWORD:-}" ]; then
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" --set=backup_password="$BACKUP_PASSWORD" <<'SQL'
CREATE ROLE ${BACKUP_ROLE} LOGIN PASSWORD :'backup_password' CONNECTION LIMIT 2;
GRANT pg_read_all_data TO ${BACKUP_ROLE};
SQL
fi
`;

/** The ingest service's own PostgreSQL: one StatefulSet replica, reachable only from the service. */
export class IngestPostgres extends StackComponent {
  readonly port = PORT;
  /** The backup CronJob, when the environment asks for backups. */
  readonly backup?: IngestPostgresBackup;

  constructor(scope: Construct, id: string, props: IngestPostgresProps) {
    super(scope, id, {
      name: 'ingest-postgres',
      namespace: props.namespace,
      instance: props.instance,
      version: props.image.tag,
      component: 'analytics-database',
      ports: [{ port: PORT }],
    });
    const uid = IMAGE_UIDS.postgres;
    const superuser = props.superuserPassword ?? { secretName: props.password.secretName, key: 'superuser-password' };
    this.addServiceAccount();
    new k8s.KubeService(this, 'Service', {
      metadata: { name: this.name, labels: this.labels },
      spec: { clusterIp: 'None', selector: this.selector, ports: [{ name: 'postgres', port: PORT, targetPort: k8s.IntOrString.fromString('postgres') }] },
    });
    new k8s.KubeConfigMap(this, 'Init', {
      metadata: { name: `${this.name}-init`, labels: this.labels },
      data: {
        '05-owner-role.sh': CREATE_OWNER,
        '10-reader-role.sh': CREATE_READER,
        ...(props.monitorPassword || props.backupPassword ? { '20-service-roles.sh': CREATE_SERVICE_ROLES } : {}),
      },
    });
    const data = dataVolume('data', props.storage, this.labels);
    const ready: k8s.Probe = {
      exec: { command: ['pg_isready', '-U', OWNER_ROLE, '-d', 'ingest', '-h', '127.0.0.1'] },
      initialDelaySeconds: 5,
      periodSeconds: 10,
      timeoutSeconds: 5,
      failureThreshold: 6,
    };
    new k8s.KubeStatefulSet(this, 'Resource', {
      metadata: { name: this.name, labels: this.labels },
      spec: {
        serviceName: this.name,
        replicas: 1,
        selector: { matchLabels: this.selector },
        ...(data.claims.length > 0 ? { volumeClaimTemplates: data.claims } : {}),
        template: {
          metadata: { labels: this.labels },
          spec: {
            ...this.podBasics(uid),
            containers: [
              {
                name: 'postgres',
                image: `${props.image.repository}:${props.image.tag}`,
                // The image's entrypoint runs what follows `postgres` as the server's command line.
                args: ['postgres', ...Object.entries(postgresSettings(props.resources.limits.memory)).flatMap(([k, v]) => ['-c', `${k}=${v}`])],
                ports: [{ name: 'postgres', containerPort: PORT }],
                env: [
                  // The superuser is not the service's login: the service connects as the owner role CREATE_OWNER makes.
                  { name: 'POSTGRES_USER', value: SUPERUSER_ROLE },
                  { name: 'POSTGRES_DB', value: 'ingest' },
                  // Optional: the entrypoint reads it only to initialise a data folder (and then stops with its own message when it is missing), so a database initialised before this key existed still starts.
                  { name: 'POSTGRES_PASSWORD', valueFrom: { secretKeyRef: { name: superuser.secretName, key: superuser.key, optional: true } } },
                  { name: 'INGEST_PASSWORD', valueFrom: { secretKeyRef: { name: props.password.secretName, key: props.password.key } } },
                  // A subfolder, since a fresh volume's root holds lost+found and initdb wants an empty folder.
                  { name: 'PGDATA', value: '/var/lib/postgresql/data/pgdata' },
                  { name: 'READER_PASSWORD', valueFrom: { secretKeyRef: { name: props.readerPassword.secretName, key: props.readerPassword.key } } },
                  ...(props.monitorPassword ? [{ name: 'MONITOR_PASSWORD', valueFrom: { secretKeyRef: { name: props.monitorPassword.secretName, key: props.monitorPassword.key } } }] : []),
                  ...(props.backupPassword ? [{ name: 'BACKUP_PASSWORD', valueFrom: { secretKeyRef: { name: props.backupPassword.secretName, key: props.backupPassword.key } } }] : []),
                ],
                resources: resourceRequirements(props.resources),
                securityContext: containerSecurityContext(uid),
                livenessProbe: ready,
                readinessProbe: { ...ready, periodSeconds: 5 },
                volumeMounts: [
                  { name: 'data', mountPath: '/var/lib/postgresql/data' },
                  { name: 'run', mountPath: '/var/run/postgresql' },
                  { name: 'tmp', mountPath: '/tmp' },
                  { name: 'init', mountPath: '/docker-entrypoint-initdb.d', readOnly: true },
                ],
              },
            ],
            volumes: [
              { name: 'run', emptyDir: { sizeLimit: k8s.Quantity.fromString('16Mi') } },
              { name: 'init', configMap: { name: `${this.name}-init`, defaultMode: 0o555 } },
              { name: 'tmp', emptyDir: { sizeLimit: k8s.Quantity.fromString('256Mi') } },
              ...data.volumes,
            ],
          },
        },
      },
    });
    if (props.backup) {
      this.backup = new IngestPostgresBackup(this, 'Backup', {
        namespace: props.namespace,
        instance: props.instance,
        settings: props.backup,
        postgresImage: props.image,
        uploaderImage: props.uploaderImage ?? IMAGES.backupUploader,
        database: { host: this.host(props.clusterDomain ?? 'cluster.local'), port: PORT, selector: this.selector },
      });
      this.allowFrom(this.backup);
    }
    this.addNetworkPolicy();
  }

  /** `host:port`, as Grafana's PostgreSQL datasource wants it. */
  get url(): string {
    return `${this.name}.${this.namespace}.svc.cluster.local:${PORT}`;
  }

  /** The database's address for clients in the cluster. */
  host(clusterDomain: string): string {
    return `${this.name}.${this.namespace}.svc.${clusterDomain}`;
  }

  /** PostgreSQL exposes no Prometheus metrics itself; the ingest service reports its database health. */
  get scrapeEndpoints(): readonly ScrapeEndpoint[] {
    return [];
  }
}
