import type { Construct } from 'constructs';
import type { Image, Resources, SecretRef } from '../../config/index.js';
import { IMAGE_UIDS } from '../../config/index.js';
import { assertExporterName, StackComponent } from '../common/component.js';
import type { Flow } from '../common/network.js';
import type { ScrapeEndpoint } from '../prometheus/scrape.js';

/** The PostgreSQL server one exporter watches, and how it logs in. */
export interface PostgresTarget {
  /** `host:port`. */
  readonly address: string;
  readonly database: string;
  readonly user: string;
  /** The Secret key holding the user's password; it reaches the exporter as an environment variable, never in the manifests. */
  readonly password: SecretRef;
  readonly sslMode: 'disable' | 'require' | 'verify-full';
}

export interface PostgresExporterProps {
  readonly namespace: string;
  readonly instance: string;
  /** Names the exporter (`postgres-exporter-<name>`) and its scrape job (`postgres-<name>`). */
  readonly name: string;
  readonly image: Image;
  readonly resources: Resources;
  readonly target: PostgresTarget;
  /** The NetworkPolicy flow to the server (its pods, namespace or address blocks). */
  readonly databaseFlow: Flow;
}

const PORT = 9187;

/**
 * prometheus-community's postgres_exporter for one PostgreSQL server:
 * connections, transactions, locks, deadlocks, cache hits and sizes per
 * database. Only Prometheus may reach it, and it reaches only its server.
 */
export class PostgresExporter extends StackComponent {
  readonly jobName: string;

  constructor(scope: Construct, id: string, props: PostgresExporterProps) {
    super(scope, id, {
      name: `postgres-exporter-${props.name}`,
      namespace: props.namespace,
      instance: props.instance,
      version: props.image.tag,
      component: 'database-metrics',
      ports: [{ port: PORT }],
    });
    assertExporterName(props.name);
    this.jobName = `postgres-${props.name}`;
    const uid = IMAGE_UIDS.postgresExporter;
    const t = props.target;
    this.addServiceAccount();
    this.addExporter({
      port: PORT,
      uid,
      image: props.image,
      resources: props.resources,
      args: [`--web.listen-address=:${PORT}`, '--log.format=json'],
      env: [
        // URI, user and password apart, so that the password never sits in a DSN in the manifests.
        { name: 'DATA_SOURCE_URI', value: `${t.address}/${encodeURIComponent(t.database)}?sslmode=${t.sslMode}` },
        { name: 'DATA_SOURCE_USER', value: t.user },
        { name: 'DATA_SOURCE_PASS', valueFrom: { secretKeyRef: { name: t.password.secretName, key: t.password.key } } },
      ],
      // The landing page, not /metrics: a probe must not open a database session every few seconds.
      healthPath: '/',
      readinessDelaySeconds: 3,
    });
    this.egress.push(props.databaseFlow);
    this.addNetworkPolicy();
  }

  get scrapeEndpoints(): readonly ScrapeEndpoint[] {
    return [{ jobName: this.jobName, namespace: this.namespace, serviceName: this.name, portName: 'metrics' }];
  }
}
