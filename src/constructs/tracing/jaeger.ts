import { k8s } from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import type { Environment, Image, Resources, TracesConfig } from '../../config/index.js';
import { IMAGE_UIDS } from '../../config/index.js';
import { addDisruptionBudget, spreadAffinity } from '../common/availability.js';
import { checksum } from '../common/checksum.js';
import { containerSecurityContext, httpProbe, podSecurityContext, resourceRequirements } from '../common/security.js';
import { ConnectedComponent } from '../logging/connected.js';
import type { Elasticsearch } from '../logging/elasticsearch.js';
import { secretEnv, toolPodTemplate } from '../logging/tool-pod.js';
import type { ScrapeEndpoint } from '../prometheus/scrape.js';
import { INDEX_CLEANER_SCRIPT, JAEGER_PATHS, JAEGER_PORTS, type JaegerRole, type JaegerStorage, jaegerConfig, samplingStrategies } from './jaeger-config.js';
import { yamlText } from '../../config/yaml-text.js';

export type JaegerSettings = Environment['components']['jaeger'];

export interface JaegerProps {
  readonly namespace: string;
  readonly instance: string;
  readonly settings: JaegerSettings;
  readonly traces: TracesConfig;
  readonly image: Image;
  /** Required when `settings.storage` is elasticsearch. @default - none */
  readonly elasticsearch?: Elasticsearch;
  /** @default 'cluster.local' */
  readonly clusterDomain?: string;
}

const ROLE_PORTS: Record<JaegerRole, Array<{ name: string; port: number }>> = {
  'all-in-one': [
    { name: 'otlp-grpc', port: JAEGER_PORTS.otlpGrpc },
    { name: 'otlp-http', port: JAEGER_PORTS.otlpHttp },
    { name: 'sampling', port: JAEGER_PORTS.samplingHttp },
    { name: 'query', port: JAEGER_PORTS.queryHttp },
    { name: 'query-grpc', port: JAEGER_PORTS.queryGrpc },
  ],
  collector: [
    { name: 'otlp-grpc', port: JAEGER_PORTS.otlpGrpc },
    { name: 'otlp-http', port: JAEGER_PORTS.otlpHttp },
    { name: 'sampling', port: JAEGER_PORTS.samplingHttp },
  ],
  query: [
    { name: 'query', port: JAEGER_PORTS.queryHttp },
    { name: 'query-grpc', port: JAEGER_PORTS.queryGrpc },
  ],
};

interface PartProps {
  readonly namespace: string;
  readonly instance: string;
  readonly role: JaegerRole;
  readonly image: Image;
  readonly replicas: number;
  readonly resources: Resources;
  readonly storage: JaegerStorage;
  readonly samplingRate: number;
  readonly passwordSecret?: { readonly secretName: string; readonly key: string };
  readonly clusterDomain: string;
}

/** One Deployment of Jaeger v2 in one role, with its Service, ConfigMap and NetworkPolicy. */
export class JaegerPart extends ConnectedComponent {
  readonly role: JaegerRole;
  private readonly clusterDomain: string;

  constructor(scope: Construct, id: string, props: PartProps) {
    const name = props.role === 'all-in-one' ? 'jaeger' : `jaeger-${props.role}`;
    const ports = ROLE_PORTS[props.role];
    super(scope, id, {
      name,
      namespace: props.namespace,
      instance: props.instance,
      version: props.image.tag,
      component: props.role === 'query' ? 'traces-query' : 'traces',
      ports: ports.map((p) => ({ port: p.port })),
    });
    this.role = props.role;
    this.clusterDomain = props.clusterDomain;
    const uid = IMAGE_UIDS.jaeger;
    const files: Record<string, string> = {
      'config.yaml': yamlText(jaegerConfig(props.role, props.storage)),
      ...(props.role !== 'query' ? { 'sampling.json': `${JSON.stringify(samplingStrategies(props.samplingRate), null, 2)}\n` } : {}),
    };
    this.addServiceAccount();
    new k8s.KubeConfigMap(this, 'Config', { metadata: { name, labels: this.labels }, data: files });
    new k8s.KubeService(this, 'Service', {
      metadata: { name, labels: this.labels },
      spec: {
        type: 'ClusterIP',
        selector: this.selector,
        ports: [...ports, { name: 'metrics', port: JAEGER_PORTS.metrics }].map((p) => ({
          name: p.name,
          port: p.port,
          targetPort: k8s.IntOrString.fromString(p.name),
        })),
      },
    });
    const es = props.storage.type === 'elasticsearch';
    if (es && !props.passwordSecret) throw new Error('jaeger with elasticsearch storage needs the jaeger user\'s password Secret');
    new k8s.KubeDeployment(this, 'Resource', {
      metadata: { name, labels: this.labels },
      spec: {
        replicas: props.replicas,
        selector: { matchLabels: this.selector },
        template: {
          metadata: { labels: this.labels, annotations: { 'checksum/config': checksum(...Object.values(files)) } },
          spec: {
            serviceAccountName: name,
            automountServiceAccountToken: false,
            securityContext: podSecurityContext(uid),
            ...(props.replicas > 1 ? { affinity: spreadAffinity(this.selector) } : {}),
            containers: [
              {
                name: 'jaeger',
                image: `${props.image.repository}:${props.image.tag}`,
                args: ['--config', `file:${JAEGER_PATHS.config}`],
                ports: [...ports, { name: 'metrics', port: JAEGER_PORTS.metrics }, { name: 'health', port: JAEGER_PORTS.health }].map((p) => ({
                  name: p.name,
                  containerPort: p.port,
                })),
                resources: resourceRequirements(props.resources),
                securityContext: containerSecurityContext(uid),
                livenessProbe: httpProbe('/status', 'health'),
                readinessProbe: httpProbe('/status', 'health', { initialDelaySeconds: 3, periodSeconds: 10 }),
                volumeMounts: [
                  { name: 'config', mountPath: '/etc/jaeger', readOnly: true },
                  ...(es ? [{ name: 'es-password', mountPath: '/etc/jaeger/elasticsearch', readOnly: true }] : []),
                  { name: 'tmp', mountPath: '/tmp' },
                ],
              },
            ],
            volumes: [
              { name: 'config', configMap: { name } },
              ...(es && props.passwordSecret
                ? [{ name: 'es-password', secret: { secretName: props.passwordSecret.secretName, items: [{ key: props.passwordSecret.key, path: 'password' }] } }]
                : []),
              { name: 'tmp', emptyDir: { sizeLimit: k8s.Quantity.fromString('64Mi') } },
            ],
          },
        },
      },
    });
    if (props.replicas > 1) addDisruptionBudget(this, name, this.labels, this.selector);
    if (props.role !== 'query') {
      // Instrumented services live in any namespace.
      this.ingress.push({ peers: [{ anyNamespace: true }], ports: [{ port: JAEGER_PORTS.otlpGrpc }, { port: JAEGER_PORTS.otlpHttp }, { port: JAEGER_PORTS.samplingHttp }] });
    }
    this.addNetworkPolicy();
  }

  get host(): string {
    return `${this.name}.${this.namespace}.svc.${this.clusterDomain}`;
  }

  get scrapeEndpoints(): readonly ScrapeEndpoint[] {
    return [{ jobName: this.name, namespace: this.namespace, serviceName: this.name, portName: 'metrics' }];
  }
}

/**
 * Jaeger v2: one all-in-one pod in small environments, collector and query
 * Deployments on Elasticsearch in large ones, a daily cleaner of expired trace
 * indices, and the OpenTelemetry settings instrumented services read.
 */
export class Jaeger extends Construct {
  /** Receives OTLP and serves sampling strategies. */
  readonly collector: JaegerPart;
  /** Serves the UI and the API Grafana queries. */
  readonly query: JaegerPart;
  readonly parts: readonly JaegerPart[];
  readonly samplingRate: number;

  constructor(scope: Construct, id: string, props: JaegerProps) {
    super(scope, id);
    const { settings } = props;
    const clusterDomain = props.clusterDomain ?? 'cluster.local';
    const es = props.elasticsearch;
    if (settings.storage === 'elasticsearch' && !es) throw new Error('jaeger.storage is "elasticsearch" but no Elasticsearch was given');
    if (settings.mode === 'distributed' && settings.storage === 'memory') throw new Error('jaeger.mode "distributed" needs elasticsearch storage');
    this.samplingRate = props.traces.samplingRate;
    const storage: JaegerStorage =
      settings.storage === 'elasticsearch' && es
        ? { type: 'elasticsearch', url: es.url, username: 'jaeger', indexPrefix: settings.indexPrefix, shardReplicas: es.shardReplicas }
        : { type: 'memory', maxTraces: settings.maxTraces };
    const common = {
      namespace: props.namespace,
      instance: props.instance,
      image: props.image,
      storage,
      samplingRate: props.traces.samplingRate,
      clusterDomain,
      ...(es ? { passwordSecret: es.users.jaeger } : {}),
    };
    if (settings.mode === 'all-in-one') {
      const part = new JaegerPart(this, 'AllInOne', { ...common, role: 'all-in-one', replicas: 1, resources: settings.allInOne.resources });
      this.collector = part;
      this.query = part;
      this.parts = [part];
    } else {
      this.collector = new JaegerPart(this, 'Collector', { ...common, role: 'collector', ...settings.collector });
      this.query = new JaegerPart(this, 'Query', { ...common, role: 'query', ...settings.query });
      this.parts = [this.collector, this.query];
    }
    if (es && storage.type === 'elasticsearch') {
      for (const p of this.parts) es.connect(p);
      new JaegerIndexCleaner(this, 'IndexCleaner', {
        namespace: props.namespace,
        instance: props.instance,
        elasticsearch: es,
        indexPrefix: settings.indexPrefix,
        retentionDays: props.traces.retentionDays,
      });
    }
    new k8s.KubeConfigMap(this, 'OtelSettings', {
      metadata: { name: 'otel-settings', labels: this.collector.labels },
      data: otelSettings(this.collector.host, props.traces.samplingRate),
    });
  }

  /** The OTLP/HTTP endpoint instrumented services export to. */
  get otlpEndpoint(): string {
    return `http://${this.collector.host}:${JAEGER_PORTS.otlpHttp}`;
  }

  /** The query API Grafana's datasource points at. */
  get url(): string {
    return `http://${this.query.host}:${JAEGER_PORTS.queryHttp}`;
  }

  get port(): number {
    return JAEGER_PORTS.queryHttp;
  }

  get selector(): Record<string, string> {
    return this.query.selector;
  }

  allowFrom(pods: { readonly selector: Record<string, string> }): void {
    this.query.allowFrom(pods, [{ port: JAEGER_PORTS.queryHttp }]);
  }

  get scrapeEndpoints(): readonly ScrapeEndpoint[] {
    return this.parts.flatMap((p) => p.scrapeEndpoints);
  }

  /** Lets Prometheus (or another scraper) reach the metrics port of every part. */
  allowScrapeFrom(pods: { readonly selector: Record<string, string> }): void {
    for (const p of this.parts) p.allowFrom(pods, [{ port: JAEGER_PORTS.metrics }]);
  }
}

/**
 * The environment instrumented services take from the `otel-settings`
 * ConfigMap (`envFrom`): where to export, and parent-based head sampling at
 * the environment's rate, the same rate Jaeger's remote sampling serves.
 */
export function otelSettings(collectorHost: string, samplingRate: number): Record<string, string> {
  return {
    OTEL_EXPORTER_OTLP_ENDPOINT: `http://${collectorHost}:${JAEGER_PORTS.otlpHttp}`,
    OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf',
    OTEL_TRACES_EXPORTER: 'otlp',
    OTEL_TRACES_SAMPLER: 'parentbased_traceidratio',
    OTEL_TRACES_SAMPLER_ARG: String(samplingRate),
  };
}

interface IndexCleanerProps {
  readonly namespace: string;
  readonly instance: string;
  readonly elasticsearch: Elasticsearch;
  readonly indexPrefix: string;
  readonly retentionDays: number;
}

/** A daily CronJob deleting trace indices older than `traces.retentionDays`. */
export class JaegerIndexCleaner extends ConnectedComponent {
  constructor(scope: Construct, id: string, props: IndexCleanerProps) {
    const es = props.elasticsearch;
    super(scope, id, {
      name: 'jaeger-index-cleaner',
      namespace: props.namespace,
      instance: props.instance,
      version: es.image.tag,
      component: 'traces-retention',
      ports: [],
    });
    new k8s.KubeConfigMap(this, 'Script', { metadata: { name: this.name, labels: this.labels }, data: { 'run.sh': INDEX_CLEANER_SCRIPT } });
    new k8s.KubeCronJob(this, 'Resource', {
      metadata: { name: this.name, labels: this.labels },
      spec: {
        schedule: '15 0 * * *',
        concurrencyPolicy: 'Forbid',
        successfulJobsHistoryLimit: 1,
        failedJobsHistoryLimit: 3,
        jobTemplate: {
          spec: {
            backoffLimit: 3,
            template: toolPodTemplate({
              image: es.image,
              uid: IMAGE_UIDS.elasticsearch,
              labels: this.labels,
              configMap: this.name,
              env: [
                { name: 'BASE_URL', value: es.url },
                { name: 'AUTH_USER', value: 'jaeger' },
                secretEnv('AUTH_PASSWORD', es.users.jaeger),
                { name: 'INDEX_PREFIX', value: props.indexPrefix },
                { name: 'RETENTION_DAYS', value: String(props.retentionDays) },
              ],
            }),
          },
        },
      },
    });
    es.connect(this);
    this.addNetworkPolicy();
  }

  get scrapeEndpoints(): readonly ScrapeEndpoint[] {
    return [];
  }
}
