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
}

const PORT = 5432;

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
            serviceAccountName: this.name,
            automountServiceAccountToken: false,
            securityContext: podSecurityContext(uid),
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
                ],
                resources: resourceRequirements(props.resources),
                securityContext: containerSecurityContext(uid),
                livenessProbe: ready,
                readinessProbe: { ...ready, periodSeconds: 5 },
                volumeMounts: [
                  { name: 'data', mountPath: '/var/lib/postgresql/data' },
                  { name: 'run', mountPath: '/var/run/postgresql' },
                  { name: 'tmp', mountPath: '/tmp' },
                ],
              },
            ],
            volumes: [
              { name: 'run', emptyDir: { sizeLimit: k8s.Quantity.fromString('16Mi') } },
              { name: 'tmp', emptyDir: { sizeLimit: k8s.Quantity.fromString('256Mi') } },
              ...data.volumes,
            ],
          },
        },
      },
    });
    this.addNetworkPolicy();
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
