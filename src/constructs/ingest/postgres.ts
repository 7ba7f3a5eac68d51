import { k8s } from 'cdk8s-plus-27';
import type { Construct } from 'constructs';
import type { Image, Resources, SecretRef, Storage } from '../../config/index.js';
import { IMAGE_UIDS } from '../../config/index.js';
import { StackComponent } from '../common/component.js';
import { containerSecurityContext, podSecurityContext, resourceRequirements } from '../common/security.js';
import { dataVolume } from '../common/storage.js';
import type { ScrapeEndpoint } from '../prometheus/scrape.js';

export interface IngestPostgresProps {
  readonly namespace: string;
  readonly instance: string;
  readonly storage: Storage;
  readonly resources: Resources;
  readonly image: Image;
  readonly password: SecretRef;
  /** Password of `grafana_reader`, the read-only role dashboards query with. */
  readonly readerPassword: SecretRef;
}

const PORT = 5432;

/** The read-only role Grafana logs in with; the service's migrations grant it the aggregate tables only. */
export const READER_ROLE = 'grafana_reader';

/**
 * Run once by the image's entrypoint when the data folder is initialised. psql's
 * :'var' quoting keeps the password a literal whatever it contains.
 */
const CREATE_READER = `#!/bin/sh
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" --set=reader_password="$READER_PASSWORD" <<'SQL'
CREATE ROLE ${READER_ROLE} LOGIN PASSWORD :'reader_password';
GRANT CONNECT ON DATABASE ingest TO ${READER_ROLE};
GRANT USAGE ON SCHEMA public TO ${READER_ROLE};
SQL
`;

/** The ingest service's own PostgreSQL: one StatefulSet replica, reachable only from the service. */
export class IngestPostgres extends StackComponent {
  readonly port = PORT;

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
    this.addServiceAccount();
    new k8s.KubeService(this, 'Service', {
      metadata: { name: this.name, labels: this.labels },
      spec: { clusterIp: 'None', selector: this.selector, ports: [{ name: 'postgres', port: PORT, targetPort: k8s.IntOrString.fromString('postgres') }] },
    });
    new k8s.KubeConfigMap(this, 'Init', {
      metadata: { name: `${this.name}-init`, labels: this.labels },
      data: { '10-reader-role.sh': CREATE_READER },
    });
    const data = dataVolume('data', props.storage, this.labels);
    const ready: k8s.Probe = {
      exec: { command: ['pg_isready', '-U', 'ingest', '-d', 'ingest', '-h', '127.0.0.1'] },
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
                ports: [{ name: 'postgres', containerPort: PORT }],
                env: [
                  { name: 'POSTGRES_USER', value: 'ingest' },
                  { name: 'POSTGRES_DB', value: 'ingest' },
                  { name: 'POSTGRES_PASSWORD', valueFrom: { secretKeyRef: { name: props.password.secretName, key: props.password.key } } },
                  // A subfolder, since a fresh volume's root holds lost+found and initdb wants an empty folder.
                  { name: 'PGDATA', value: '/var/lib/postgresql/data/pgdata' },
                  { name: 'READER_PASSWORD', valueFrom: { secretKeyRef: { name: props.readerPassword.secretName, key: props.readerPassword.key } } },
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
