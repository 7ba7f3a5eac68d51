import type { EnvironmentInput } from './schema.js';

type DeepPartial<T> = T extends readonly (infer U)[]
  ? readonly U[]
  : T extends object
    ? { [K in keyof T]?: DeepPartial<T[K]> }
    : T;

/**
 * What every environment starts from: small, single-replica and ephemeral,
 * sized so that a development cluster needs well under 2 CPU / 4 GiB of requests.
 * Environment files are deep-merged over this object.
 */
export const DEFAULTS: DeepPartial<EnvironmentInput> = {
  tier: 'development',
  namespace: 'monitoring',
  clusterDomain: 'cluster.local',
  components: {
    prometheus: {
      enabled: true,
      replicas: 1,
      resources: { requests: { cpu: '200m', memory: '512Mi' }, limits: { cpu: '1', memory: '1Gi' } },
      storage: { type: 'ephemeral' },
      retention: { time: '2d' },
      scrapeInterval: '30s',
      evaluationInterval: '30s',
      ingress: { enabled: false },
      externalLabels: {},
      // One Prometheus (per replica) scrapes everything; `obstack size` says when to shard.
      shards: 1,
      remoteWrite: [],
    },
    alertmanager: {
      enabled: true,
      replicas: 1,
      resources: { requests: { cpu: '25m', memory: '64Mi' }, limits: { cpu: '200m', memory: '128Mi' } },
      storage: { type: 'ephemeral' },
      retention: '120h',
      ingress: { enabled: false },
    },
    grafana: {
      enabled: true,
      replicas: 1,
      resources: { requests: { cpu: '100m', memory: '128Mi' }, limits: { cpu: '500m', memory: '512Mi' } },
      storage: { type: 'ephemeral' },
      ingress: { enabled: false },
      admin: { secretName: 'grafana-admin', userKey: 'admin-user', passwordKey: 'admin-password' },
      database: { type: 'sqlite' },
      datasources: [],
    },
    nodeExporter: {
      enabled: true,
      resources: { requests: { cpu: '25m', memory: '32Mi' }, limits: { cpu: '200m', memory: '64Mi' } },
    },
    kubeStateMetrics: {
      enabled: true,
      replicas: 1,
      resources: { requests: { cpu: '25m', memory: '64Mi' }, limits: { cpu: '200m', memory: '256Mi' } },
    },
    ingest: {
      enabled: true,
      replicas: 1,
      resources: { requests: { cpu: '100m', memory: '128Mi' }, limits: { cpu: '1', memory: '512Mi' } },
      apiKeys: { secretName: 'ingest-api-keys', key: 'keys.json' },
      alertmanagerKey: { secretName: 'ingest-alertmanager', key: 'api-key' },
      prometheusKey: { secretName: 'ingest-prometheus', key: 'api-key' },
      erasureKey: { secretName: 'ingest-api-keys', key: 'erasure-key' },
      retentionDays: 90,
      database: {
        type: 'in-cluster',
        storage: { type: 'ephemeral' },
        resources: { requests: { cpu: '100m', memory: '256Mi' }, limits: { cpu: '1', memory: '512Mi' } },
        password: { secretName: 'ingest-postgres', key: 'password' },
        readerPassword: { secretName: 'ingest-postgres', key: 'reader-password' },
      },
    },
    elasticsearch: {
      enabled: true,
      replicas: 1,
      resources: { requests: { cpu: '100m', memory: '1Gi' }, limits: { cpu: '1', memory: '1Gi' } },
      storage: { type: 'ephemeral' },
      heapPercent: 50,
      users: {
        elastic: { secretName: 'elasticsearch-credentials', key: 'elastic' },
        kibanaSystem: { secretName: 'elasticsearch-credentials', key: 'kibana-system' },
        logstash: { secretName: 'elasticsearch-credentials', key: 'logstash-writer' },
        grafana: { secretName: 'elasticsearch-credentials', key: 'grafana-reader' },
        jaeger: { secretName: 'elasticsearch-credentials', key: 'jaeger' },
        monitoring: { secretName: 'elasticsearch-credentials', key: 'monitoring' },
      },
      exporter: { resources: { requests: { cpu: '10m', memory: '32Mi' }, limits: { cpu: '100m', memory: '64Mi' } } },
    },
    logstash: {
      enabled: true,
      replicas: 1,
      resources: { requests: { cpu: '100m', memory: '768Mi' }, limits: { cpu: '1', memory: '1Gi' } },
      storage: { type: 'ephemeral' },
      queue: { type: 'memory', maxBytes: '1gb' },
      exporter: { resources: { requests: { cpu: '10m', memory: '32Mi' }, limits: { cpu: '100m', memory: '64Mi' } } },
    },
    kibana: {
      enabled: true,
      replicas: 1,
      resources: { requests: { cpu: '100m', memory: '512Mi' }, limits: { cpu: '1', memory: '1Gi' } },
      ingress: { enabled: false },
    },
    filebeat: {
      enabled: true,
      resources: { requests: { cpu: '25m', memory: '64Mi' }, limits: { cpu: '200m', memory: '256Mi' } },
    },
    jaeger: {
      enabled: true,
      mode: 'all-in-one',
      storage: 'memory',
      maxTraces: 50000,
      indexPrefix: 'obstack',
      allInOne: { resources: { requests: { cpu: '50m', memory: '128Mi' }, limits: { cpu: '500m', memory: '512Mi' } } },
      collector: { replicas: 1, resources: { requests: { cpu: '100m', memory: '128Mi' }, limits: { cpu: '1', memory: '512Mi' } } },
      query: { replicas: 1, resources: { requests: { cpu: '50m', memory: '64Mi' }, limits: { cpu: '500m', memory: '256Mi' } } },
    },
    // Off until an environment names its bucket (objectStorage); see the README's Thanos section for when to turn it on.
    thanos: {
      enabled: false,
      sidecar: { resources: { requests: { cpu: '50m', memory: '64Mi' }, limits: { cpu: '500m', memory: '256Mi' } } },
      query: { replicas: 1, resources: { requests: { cpu: '100m', memory: '256Mi' }, limits: { cpu: '1', memory: '1Gi' } }, ingress: { enabled: false } },
      storeGateway: { replicas: 1, resources: { requests: { cpu: '100m', memory: '512Mi' }, limits: { cpu: '1', memory: '2Gi' } }, storage: { type: 'ephemeral' } },
      compactor: {
        resources: { requests: { cpu: '100m', memory: '512Mi' }, limits: { cpu: '1', memory: '2Gi' } },
        storage: { type: 'ephemeral' },
        // Thanos's own advice: every resolution kept as long, so a year ago can still be zoomed into.
        retention: { raw: '90d', fiveMinutes: '180d', oneHour: '1y' },
        // Off: Thanos calls offline deduplication experimental, and what it merges cannot be split again.
        deduplicateReplicas: false,
      },
      ruler: {
        enabled: false,
        replicas: 1,
        resources: { requests: { cpu: '100m', memory: '256Mi' }, limits: { cpu: '1', memory: '1Gi' } },
        storage: { type: 'ephemeral' },
        evaluationInterval: '30s',
      },
      stores: [],
    },
  },
  logs: {
    retentionDays: 30,
    auditRetentionDays: 365,
    personalData: [
      { field: 'user.email', action: 'remove' },
      { field: 'source.ip', action: 'hash' },
      { field: 'client.ip', action: 'hash' },
    ],
    hashKey: { secretName: 'logstash-pii', key: 'hash-key' },
    labels: {},
  },
  traces: {
    samplingRate: 0.1,
    retentionDays: 7,
  },
  scrape: { static: [], serviceMonitors: [], podMonitors: [], additionalScrapeConfigs: [], egress: [] },
  exporters: {
    postgres: {
      ingest: true,
      resources: { requests: { cpu: '10m', memory: '32Mi' }, limits: { cpu: '100m', memory: '64Mi' } },
      databases: [],
    },
    redis: {
      resources: { requests: { cpu: '10m', memory: '16Mi' }, limits: { cpu: '100m', memory: '64Mi' } },
      instances: [],
    },
  },
  probes: {
    enabled: true,
    resources: { requests: { cpu: '10m', memory: '32Mi' }, limits: { cpu: '100m', memory: '64Mi' } },
    health: { annotated: true, livenessPath: '/health/live', readinessPath: '/health/ready', services: [] },
    http: [],
    tcp: [],
    tls: [],
  },
  // Everything on, as a self-managed (kubeadm) cluster has it once etcd, the scheduler, the controller-manager and
  // kube-proxy listen beyond 127.0.0.1; managed clusters switch off what they hide.
  controlPlane: {
    apiServer: { enabled: true },
    kubelet: { enabled: true },
    etcd: { enabled: true, namespace: 'kube-system', selector: 'component=etcd', port: 2381 },
    scheduler: { enabled: true, namespace: 'kube-system', selector: 'component=kube-scheduler', port: 10259 },
    controllerManager: { enabled: true, namespace: 'kube-system', selector: 'component=kube-controller-manager', port: 10257 },
    coreDns: { enabled: true, namespace: 'kube-system', selector: 'k8s-app=kube-dns', port: 9153 },
    kubeProxy: { enabled: true, namespace: 'kube-system', selector: 'k8s-app=kube-proxy', port: 10249 },
  },
  alerting: {
    groupBy: ['alertname', 'service', 'namespace'],
    digestInterval: '24h',
    timing: { groupWait: '30s', groupInterval: '5m', repeatInterval: '4h', digestWait: '5m' },
    escalateAfter: '30m',
    overrides: {},
    routes: [],
    extraReceivers: {},
  },
  teams: {},
  dashboards: { drop: [] },
  patches: [],
  gitops: { argocd: { enabled: false, targetRevision: 'HEAD', project: 'default', namespace: 'argocd', automated: { prune: true, selfHeal: true } } },
};
