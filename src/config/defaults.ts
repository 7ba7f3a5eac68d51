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
      retentionDays: 90,
      database: {
        type: 'in-cluster',
        storage: { type: 'ephemeral' },
        resources: { requests: { cpu: '100m', memory: '256Mi' }, limits: { cpu: '1', memory: '512Mi' } },
        password: { secretName: 'ingest-postgres', key: 'password' },
      },
    },
  },
  alerting: {
    groupBy: ['alertname', 'service', 'namespace'],
    digestInterval: '24h',
    runbookBaseUrl: 'docs/runbooks.md',
    overrides: {},
  },
};
