import { Chart, type ChartProps } from 'cdk8s';
import { k8s } from 'cdk8s-plus-27';
import type { Construct } from 'constructs';
import { clusterScoped } from './common/cluster-scoped.js';
import { type Environment, IMAGES, type Image, type ImageName } from '../config/index.js';
import { Alertmanager } from './alertmanager/alertmanager.js';
import { MANAGED_BY, PART_OF } from './common/labels.js';
import { KubeStateMetrics } from './exporters/kube-state-metrics.js';
import { NodeExporter } from './exporters/node-exporter.js';
import { type DatabasesAndProbes, addDatabasesAndProbes } from './exporters/databases-probes.js';
import { type DashboardFile, Grafana } from './grafana/grafana.js';
import { Prometheus } from './prometheus/prometheus.js';
import { IngestService } from './ingest/ingest.js';
import { READER_ROLE } from './ingest/postgres.js';
import { type LogsAndTraces, addLogsAndTraces, wireLogsAndTraces } from './logs-traces.js';
import { JAEGER_PORTS } from './tracing/jaeger-config.js';
import { type Thanos, addThanos } from './thanos/thanos.js';

export interface ObservabilityStackProps extends ChartProps {
  readonly environment: Environment;
  /** Prometheus rule files by file name (`stack.yaml`), mounted into Prometheus. @default - none */
  readonly ruleFiles?: Readonly<Record<string, string>>;
  /** Dashboards provisioned into Grafana. @default - none */
  readonly dashboards?: readonly DashboardFile[];
}

/** Uids of the datasources the stack provisions; dashboards refer to them through a variable. */
export const DATASOURCE_UIDS = {
  prometheus: 'prometheus',
  alertmanager: 'alertmanager',
  /** Elasticsearch, logs-* indices. */
  logs: 'elasticsearch-logs',
  /** Jaeger query. */
  traces: 'jaeger',
  /** The ingest service's PostgreSQL (analytics rollups). */
  analytics: 'analytics-postgres',
} as const;

/**
 * The whole stack of one environment. Components are wired by object: the
 * scrape jobs, Grafana's datasources, alert delivery and the NetworkPolicy
 * flows all follow from calls like `prometheus.scrape(grafana)`.
 */
export class ObservabilityStack extends Chart {
  readonly environment: Environment;
  readonly prometheus?: Prometheus;
  readonly alertmanager?: Alertmanager;
  readonly grafana?: Grafana;
  readonly nodeExporter?: NodeExporter;
  readonly kubeStateMetrics?: KubeStateMetrics;
  readonly ingest?: IngestService;
  /** Elasticsearch, Logstash, Kibana, Filebeat and Jaeger, each present when enabled. */
  readonly logsAndTraces: LogsAndTraces;
  /** The PostgreSQL and Redis exporters and the blackbox exporter, each present when the environment asks for it. */
  readonly databasesAndProbes: DatabasesAndProbes;
  /** Thanos's sidecars, Query, Store Gateway, Compactor and Ruler, when `components.thanos` is on. */
  readonly thanos?: Thanos;

  constructor(scope: Construct, id: string, props: ObservabilityStackProps) {
    const env = props.environment;
    super(scope, id, {
      ...props,
      namespace: env.namespace,
      labels: { 'app.kubernetes.io/part-of': PART_OF, 'app.kubernetes.io/managed-by': MANAGED_BY, ...props.labels },
    });
    this.environment = env;
    const c = env.components;
    const image = (name: ImageName, override: Image | undefined): Image => override ?? IMAGES[name];
    const common = { namespace: env.namespace, instance: env.name };

    clusterScoped(new k8s.KubeNamespace(this, 'Namespace', {
      metadata: {
        name: env.namespace,
        // node-exporter's host access keeps the namespace from enforcing "restricted"; warnings show anything else.
        labels: { 'pod-security.kubernetes.io/warn': 'restricted', 'pod-security.kubernetes.io/audit': 'restricted' },
      },
    }));
    // Nothing moves unless a component's own policy allows it.
    new k8s.KubeNetworkPolicy(this, 'DefaultDeny', {
      metadata: { name: 'default-deny' },
      spec: { podSelector: {}, policyTypes: ['Ingress', 'Egress'] },
    });

    const prometheus = c.prometheus.enabled
      ? new Prometheus(this, 'Prometheus', {
          ...common,
          settings: c.prometheus,
          image: image('prometheus', c.prometheus.image),
          clusterDomain: env.clusterDomain,
          scrape: env.scrape,
          controlPlane: env.controlPlane,
          // The ingest service's /metrics/business needs its key; the service registers that endpoint below.
          componentScrapeSecrets: c.ingest.enabled ? [c.ingest.prometheusKey] : [],
          // A shard sees a slice of the series: Thanos Ruler evaluates the same rule files over Query instead.
          evaluateRules: !(c.thanos.enabled && c.prometheus.shards > 1),
        })
      : undefined;
    const ingest = c.ingest.enabled
      ? new IngestService(this, 'Ingest', {
          ...common,
          settings: c.ingest,
          clusterDomain: env.clusterDomain,
          samplingRatio: env.traces.samplingRate,
        })
      : undefined;
    const alertmanager = c.alertmanager.enabled
      ? new Alertmanager(this, 'Alertmanager', {
          ...common,
          settings: c.alertmanager,
          alerting: env.alerting,
          teams: env.teams,
          image: image('alertmanager', c.alertmanager.image),
          clusterDomain: env.clusterDomain,
          ...(ingest ? { history: ingest.alertHistory } : {}),
        })
      : undefined;
    if (ingest && alertmanager) {
      // Acknowledging an alert in the ingest service silences it (and its escalation) in Alertmanager.
      ingest.silenceThrough(alertmanager);
      alertmanager.allowFrom(ingest);
    }
    const grafana = c.grafana.enabled
      ? new Grafana(this, 'Grafana', { ...common, settings: c.grafana, image: image('grafana', c.grafana.image), clusterDomain: env.clusterDomain })
      : undefined;
    const nodeExporter = c.nodeExporter.enabled
      ? new NodeExporter(this, 'NodeExporter', { ...common, settings: c.nodeExporter, image: image('nodeExporter', c.nodeExporter.image) })
      : undefined;
    const kubeStateMetrics = c.kubeStateMetrics.enabled
      ? new KubeStateMetrics(this, 'KubeStateMetrics', {
          ...common,
          settings: c.kubeStateMetrics,
          image: image('kubeStateMetrics', c.kubeStateMetrics.image),
        })
      : undefined;

    const logsAndTraces = addLogsAndTraces(this, env);
    const databasesAndProbes = addDatabasesAndProbes(this, env, ingest?.database);

    if (prometheus) {
      for (const target of [alertmanager, grafana, nodeExporter, kubeStateMetrics, ingest]) {
        if (!target) continue;
        prometheus.scrape(target);
        target.allowFrom(prometheus);
      }
      const { postgres, redis, blackbox } = databasesAndProbes;
      for (const target of [...postgres, ...redis, ...(blackbox ? [blackbox] : [])]) {
        prometheus.scrape(target);
        target.allowFrom(prometheus);
      }
      if (blackbox) prometheus.probe(blackbox);
      if (alertmanager) prometheus.alertTo(alertmanager);
      for (const [file, content] of Object.entries(props.ruleFiles ?? {})) prometheus.addRuleFile(file, content);
    }
    const thanos = prometheus && c.thanos.enabled
      ? addThanos(this, env, { prometheus, ...(alertmanager ? { alertmanager } : {}), ruler: c.prometheus.shards > 1 })
      : undefined;
    // With Thanos on, dashboards and the ingest service read Query: every shard and replica, deduplicated, and the bucket's history.
    const metrics = thanos?.query ?? prometheus;
    if (grafana) {
      if (prometheus) {
        // The same uid whichever answers, so every dashboard keeps working when Thanos is turned on.
        grafana.addDatasource(metrics ?? prometheus, {
          uid: DATASOURCE_UIDS.prometheus,
          name: 'Prometheus',
          type: 'prometheus',
          isDefault: !c.grafana.datasources.some((d) => d.isDefault),
          jsonData: { httpMethod: 'POST', timeInterval: env.components.prometheus.scrapeInterval, ...(thanos ? { prometheusType: 'Thanos' } : {}) },
        });
      }
      if (alertmanager) {
        grafana.addDatasource(alertmanager, {
          uid: DATASOURCE_UIDS.alertmanager,
          name: 'Alertmanager',
          type: 'alertmanager',
          jsonData: { implementation: 'prometheus', handleGrafanaManagedAlerts: false },
        });
      }
      if (ingest?.database && ingest.readerPassword) {
        grafana.addDatasource(ingest.database, {
          uid: DATASOURCE_UIDS.analytics,
          name: 'Analytics',
          type: 'grafana-postgresql-datasource',
          user: READER_ROLE,
          password: ingest.readerPassword,
          jsonData: { database: 'ingest', sslmode: 'disable', postgresVersion: 1600, maxOpenConns: 5, timescaledb: false },
        });
      }
      for (const d of props.dashboards ?? []) grafana.addDashboard(d);
    }
    wireLogsAndTraces(logsAndTraces, { prometheus, grafana });
    const collector = logsAndTraces.jaeger?.collector;
    if (ingest && logsAndTraces.jaeger && collector) {
      ingest.sendTracesTo({ selector: collector.selector, otlpHttpPort: JAEGER_PORTS.otlpHttp, otlpHttpUrl: logsAndTraces.jaeger.otlpEndpoint });
    }
    if (ingest && logsAndTraces.jaeger) {
      // GET /api/v1/monitoring/traces/{id} answers from Jaeger's query API.
      ingest.readTracesFrom(logsAndTraces.jaeger);
      logsAndTraces.jaeger.allowFrom(ingest);
    }
    if (ingest && prometheus) {
      // The health score, system metrics, trends and bottlenecks come from Prometheus's HTTP API.
      ingest.queryPrometheus(metrics ?? prometheus);
      (metrics ?? prometheus).allowFrom(ingest);
    }

    this.prometheus = prometheus;
    this.alertmanager = alertmanager;
    this.grafana = grafana;
    this.nodeExporter = nodeExporter;
    this.kubeStateMetrics = kubeStateMetrics;
    this.ingest = ingest;
    this.logsAndTraces = logsAndTraces;
    this.databasesAndProbes = databasesAndProbes;
    this.thanos = thanos;
  }
}
