import { k8s } from 'cdk8s-plus-27';
import type { Construct } from 'constructs';
import type { Environment, Image, SecretRef } from '../../config/index.js';
import { IMAGES, IMAGE_UIDS } from '../../config/index.js';
import { addDisruptionBudget, spreadAffinity } from '../common/availability.js';
import { StackComponent } from '../common/component.js';
import { containerSecurityContext, httpProbe, podSecurityContext, resourceRequirements } from '../common/security.js';
import type { ScrapeEndpoint } from '../prometheus/scrape.js';
import { IngestPostgres } from './postgres.js';

export type IngestSettings = Environment['components']['ingest'];

export interface IngestProps {
  readonly namespace: string;
  readonly instance: string;
  readonly settings: IngestSettings;
  /** @default 'cluster.local' */
  readonly clusterDomain?: string;
  /** Head-sampling ratio handed to the service's tracer. @default 0.1 */
  readonly samplingRatio?: number;
}

const PORT = 8080;
const KEYS_DIR = '/etc/ingest/keys';

/**
 * The ingest/analytics service: a Deployment behind a Service, its database
 * (a PostgreSQL StatefulSet or an external URL from a Secret), CronJobs for
 * the daily rollups and the retention of raw events, and in larger
 * environments an autoscaler and a disruption budget.
 */
export class IngestService extends StackComponent {
  readonly port = PORT;
  readonly database?: IngestPostgres;
  /** The read-only login for dashboards, when the database is the stack's own. */
  readonly readerPassword?: SecretRef;
  private readonly clusterDomain: string;
  private readonly alertmanagerToken: SecretRef;
  private readonly prometheusToken: SecretRef;
  /** Shared by the Deployment and the CronJobs; read at synth time. */
  private readonly env: k8s.EnvVar[] = [];

  constructor(scope: Construct, id: string, props: IngestProps) {
    const image: Image = props.settings.image ?? IMAGES.ingest;
    super(scope, id, {
      name: 'ingest',
      namespace: props.namespace,
      instance: props.instance,
      version: image.tag,
      component: 'analytics',
      ports: [{ port: PORT }],
    });
    const { settings } = props;
    this.clusterDomain = props.clusterDomain ?? 'cluster.local';
    this.alertmanagerToken = settings.alertmanagerKey;
    this.prometheusToken = settings.prometheusKey;
    const uid = IMAGE_UIDS.ingest;
    this.addServiceAccount();

    const db = settings.database;
    let databaseEnv: k8s.EnvVar[];
    if (db.type === 'in-cluster') {
      this.database = new IngestPostgres(this, 'Postgres', {
        namespace: props.namespace,
        instance: props.instance,
        storage: db.storage,
        resources: db.resources,
        image: db.image ?? IMAGES.postgres,
        password: db.password,
        superuserPassword: db.superuserPassword,
        readerPassword: db.readerPassword,
        monitorPassword: db.monitorPassword,
        ...(db.backup ? { backup: db.backup, backupPassword: db.backup.password } : {}),
        clusterDomain: this.clusterDomain,
      });
      this.readerPassword = db.readerPassword;
      this.database.allowFrom(this);
      this.egress.push({ peers: [{ pods: this.database.selector }], ports: [{ port: this.database.port }] });
      // pg reads PGPASSWORD when the URL carries none, so the password never has to be URL-encoded.
      databaseEnv = [
        { name: 'DATABASE_URL', value: `postgres://ingest@${this.database.host(this.clusterDomain)}:${this.database.port}/ingest` },
        { name: 'PGPASSWORD', valueFrom: { secretKeyRef: { name: db.password.secretName, key: db.password.key } } },
      ];
    } else {
      databaseEnv = [{ name: 'DATABASE_URL', valueFrom: { secretKeyRef: { name: db.url.secretName, key: db.url.key } } }];
      this.egress.push({ peers: [{ cidr: '0.0.0.0/0' }], ports: [{ port: 5432 }] });
    }

    const env = this.env;
    env.push(
      ...databaseEnv,
      { name: 'INGEST_API_KEYS_FILE', value: `${KEYS_DIR}/${settings.apiKeys.key}` },
      // Keys the digest an erasure keeps of a user id; the service refuses to start without it on PostgreSQL.
      { name: 'INGEST_ERASURE_KEY', valueFrom: { secretKeyRef: { name: settings.erasureKey.secretName, key: settings.erasureKey.key } } },
      { name: 'INGEST_RETENTION_DAYS', value: String(settings.retentionDays) },
      { name: 'OTEL_SERVICE_NAME', value: 'obstack-ingest' },
      { name: 'OTEL_TRACES_SAMPLER', value: 'parentbased_traceidratio' },
      { name: 'OTEL_TRACES_SAMPLER_ARG', value: String(props.samplingRatio ?? 0.1) },
    );
    const volumes: k8s.Volume[] = [
      { name: 'api-keys', secret: { secretName: settings.apiKeys.secretName, items: [{ key: settings.apiKeys.key, path: settings.apiKeys.key }] } },
      // tsx keeps its transform cache in the temporary folder.
      { name: 'tmp', emptyDir: { sizeLimit: k8s.Quantity.fromString('128Mi') } },
    ];
    const mounts: k8s.VolumeMount[] = [
      { name: 'api-keys', mountPath: KEYS_DIR, readOnly: true },
      { name: 'tmp', mountPath: '/tmp' },
    ];
    const container = (name: string, args: string[] | undefined): k8s.Container => ({
      name,
      image: `${image.repository}:${image.tag}`,
      ...(args ? { args } : {}),
      env,
      resources: resourceRequirements(settings.resources),
      securityContext: containerSecurityContext(uid),
      volumeMounts: mounts,
    });

    new k8s.KubeService(this, 'Service', {
      metadata: {
        name: this.name,
        labels: this.labels,
        annotations: { 'prometheus.io/scrape': 'true', 'prometheus.io/port': String(PORT), 'prometheus.io/path': '/metrics' },
      },
      spec: { type: 'ClusterIP', selector: this.selector, ports: [{ name: 'http', port: PORT, targetPort: k8s.IntOrString.fromString('http') }] },
    });

    const deployment = new k8s.KubeDeployment(this, 'Resource', {
      metadata: { name: this.name, labels: this.labels },
      spec: {
        replicas: settings.replicas,
        selector: { matchLabels: this.selector },
        template: {
          metadata: { labels: this.labels },
          spec: {
            // An autoscaled service may grow past one replica: spread it from the start.
            ...this.podBasics(uid, settings.autoscaling ? settings.autoscaling.maxReplicas : settings.replicas),
            // The service commits its queue on SIGTERM; leave it the time its own timeout allows.
            terminationGracePeriodSeconds: 30,
            containers: [
              {
                ...container('ingest', undefined),
                ports: [{ name: 'http', containerPort: PORT }],
                livenessProbe: httpProbe('/health/live', 'http'),
                // Not ready while the database does not answer or the write queue is full: new writes go elsewhere.
                readinessProbe: httpProbe('/health/ready', 'http', { initialDelaySeconds: 3, periodSeconds: 5, failureThreshold: 2 }),
              },
            ],
            volumes,
          },
        },
      },
    });

    const cronJob = (id: string, name: string, schedule: string, args: string[]): void => {
      new k8s.KubeCronJob(this, id, {
        metadata: { name, labels: this.labels },
        spec: {
          schedule,
          concurrencyPolicy: 'Forbid',
          successfulJobsHistoryLimit: 1,
          failedJobsHistoryLimit: 3,
          jobTemplate: {
            spec: {
              backoffLimit: 3,
              activeDeadlineSeconds: 1800,
              template: {
                metadata: { labels: this.labels },
                spec: {
                  serviceAccountName: this.name,
                  automountServiceAccountToken: false,
                  restartPolicy: 'OnFailure',
                  securityContext: podSecurityContext(uid),
                  containers: [container(name, args)],
                  volumes,
                },
              },
            },
          },
        },
      });
    };
    cronJob('RollupJob', 'ingest-rollup', '7 * * * *', ['src/ingest/jobs.ts', 'rollup']);
    cronJob('RetentionJob', 'ingest-retention', '23 3 * * *', ['src/ingest/jobs.ts', 'retention']);

    if (settings.autoscaling) {
      new k8s.KubeHorizontalPodAutoscalerV2(this, 'Autoscaler', {
        metadata: { name: this.name, labels: this.labels },
        spec: {
          scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: deployment.name },
          minReplicas: settings.replicas,
          maxReplicas: settings.autoscaling.maxReplicas,
          metrics: [
            { type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: settings.autoscaling.targetCpuPercent } } },
          ],
        },
      });
    }
    if (settings.replicas > 1) addDisruptionBudget(this, this.name, this.labels, this.selector);

    // Applications in any namespace send their events, metrics and errors here.
    this.ingress.push({ peers: [{ anyNamespace: true }], ports: [{ port: PORT }] });
    this.addNetworkPolicy();
  }

  /** Alertmanager's webhook for the alert history, with the key it presents; for `Alertmanager`'s `history` prop. */
  get alertHistory(): { url: string; bearerToken: SecretRef; selector: Record<string, string>; port: number } {
    return { url: `${this.url}/api/v1/alerts/webhook`, bearerToken: this.alertmanagerToken, selector: this.selector, port: PORT };
  }

  /** The in-cluster URL applications and Alertmanager's webhook post to. */
  get url(): string {
    return `http://${this.name}.${this.namespace}.svc.${this.clusterDomain}:${PORT}`;
  }

  /**
   * `/metrics` (open), and `/metrics/business` (the KPIs) with the key of
   * `prometheusKey`, which Prometheus must mount (its `componentScrapeSecrets`).
   * The KPIs keep a job of their own: relabelling it to `obstack-ingest` would
   * give the two targets the same labels and collide their `up` series.
   */
  get scrapeEndpoints(): readonly ScrapeEndpoint[] {
    return [
      { jobName: 'obstack-ingest', namespace: this.namespace, serviceName: this.name, portName: 'http' },
      {
        jobName: 'obstack-ingest-business',
        namespace: this.namespace,
        serviceName: this.name,
        portName: 'http',
        path: '/metrics/business',
        bearerToken: this.prometheusToken,
      },
    ];
  }

  /**
   * Lets the service create and expire Alertmanager silences when an alert is
   * acknowledged (`ALERTMANAGER_URL`, and egress to Alertmanager's web port);
   * the caller also lets the service in: `alertmanager.allowFrom(ingest)`.
   */
  silenceThrough(alertmanager: { readonly url: string; readonly selector: Record<string, string>; readonly port: number }): void {
    this.egress.push({ peers: [{ pods: alertmanager.selector }], ports: [{ port: alertmanager.port }] });
    this.env.push({ name: 'ALERTMANAGER_URL', value: alertmanager.url });
  }

  /**
   * Lets the service read Prometheus's HTTP API (`INGEST_PROMETHEUS_URL`) for the
   * health score, system metrics and the analytics' trends and bottlenecks; the
   * caller also lets the service in: `prometheus.allowFrom(ingest)`.
   */
  queryPrometheus(prometheus: { readonly url: string; readonly selector: Record<string, string>; readonly port: number }): void {
    this.egress.push({ peers: [{ pods: prometheus.selector }], ports: [{ port: prometheus.port }] });
    this.env.push({ name: 'INGEST_PROMETHEUS_URL', value: prometheus.url });
  }

  /** Lets the service read traces from Jaeger's query API (`INGEST_JAEGER_QUERY_URL`); the caller also calls `jaeger.allowFrom(ingest)`. */
  readTracesFrom(jaeger: { readonly url: string; readonly selector: Record<string, string>; readonly port: number }): void {
    this.egress.push({ peers: [{ pods: jaeger.selector }], ports: [{ port: jaeger.port }] });
    this.env.push({ name: 'INGEST_JAEGER_QUERY_URL', value: jaeger.url });
  }

  /** Lets the service send its traces to an OTLP/HTTP collector (the Deployment and its jobs read the same env). */
  sendTracesTo(collector: { readonly selector: Record<string, string>; readonly otlpHttpPort: number; readonly otlpHttpUrl: string }): void {
    this.egress.push({ peers: [{ pods: collector.selector }], ports: [{ port: collector.otlpHttpPort }] });
    this.env.push({ name: 'OTEL_EXPORTER_OTLP_ENDPOINT', value: collector.otlpHttpUrl });
  }
}
