/**
 * The one place where image versions are pinned. An environment may override
 * an image, but the defaults of every component come from here.
 */
const ELASTIC_VERSION = '8.19.3';

export const IMAGES = {
  prometheus: { repository: 'quay.io/prometheus/prometheus', tag: 'v3.5.0' },
  alertmanager: { repository: 'quay.io/prometheus/alertmanager', tag: 'v0.28.1' },
  grafana: { repository: 'docker.io/grafana/grafana', tag: '12.1.1' },
  nodeExporter: { repository: 'quay.io/prometheus/node-exporter', tag: 'v1.9.1' },
  kubeStateMetrics: { repository: 'registry.k8s.io/kube-state-metrics/kube-state-metrics', tag: 'v2.16.0' },
  /** Built from this repository's Dockerfile and pushed to the team's registry. */
  ingest: { repository: 'docker.io/obstack/ingest', tag: '0.1.0' },
  postgres: { repository: 'docker.io/library/postgres', tag: '16.10-bookworm' },
  /**
   * Uploads the ingest database's dumps and prunes old ones: rclone on Alpine
   * (a shell and one static binary, about 25 MB), configured by environment
   * variables (RCLONE_CONFIG_<REMOTE>_*), with age filters for the retention.
   */
  backupUploader: { repository: 'docker.io/rclone/rclone', tag: '1.69.3' },
  /** The Elastic images move together: one version for the whole logs half. */
  elasticsearch: { repository: 'docker.elastic.co/elasticsearch/elasticsearch', tag: ELASTIC_VERSION },
  logstash: { repository: 'docker.elastic.co/logstash/logstash', tag: ELASTIC_VERSION },
  kibana: { repository: 'docker.elastic.co/kibana/kibana', tag: ELASTIC_VERSION },
  filebeat: { repository: 'docker.elastic.co/beats/filebeat', tag: ELASTIC_VERSION },
  /** Jaeger v2 (OpenTelemetry Collector based); Jaeger v1 reached end of life on 2025-12-31. */
  jaeger: { repository: 'docker.io/jaegertracing/jaeger', tag: '2.10.0' },
  elasticsearchExporter: { repository: 'quay.io/prometheuscommunity/elasticsearch-exporter', tag: 'v1.9.0' },
  logstashExporter: { repository: 'docker.io/kuskoman/logstash-exporter', tag: 'v1.8.0' },
  postgresExporter: { repository: 'quay.io/prometheuscommunity/postgres-exporter', tag: 'v0.17.1' },
  redisExporter: { repository: 'docker.io/oliver006/redis_exporter', tag: 'v1.74.0' },
  blackboxExporter: { repository: 'quay.io/prometheus/blackbox-exporter', tag: 'v0.27.0' },
  /**
   * The sidecar that POSTs to Prometheus's and Alertmanager's `/-/reload` when
   * their mounted ConfigMap or Secret changes (flags: --volume-dir, --webhook-url).
   */
  configReloader: { repository: 'ghcr.io/jimmidyson/configmap-reload', tag: 'v0.15.0' },
  /**
   * The sidecar that copies labelled ConfigMaps (Grafana's dashboards and
   * datasources) into a shared folder as they change, and may POST to a URL
   * after (env: LABEL, FOLDER, FOLDER_ANNOTATION, REQ_URL; /healthz on HEALTH_PORT).
   */
  k8sSidecar: { repository: 'quay.io/kiwigrid/k8s-sidecar', tag: '2.10.3' },
  /** One image for every Thanos component (sidecar, query, store, compact, rule). */
  thanos: { repository: 'quay.io/thanos/thanos', tag: 'v0.39.2' },
} as const;

export type ImageName = keyof typeof IMAGES;

/**
 * Numeric user ids of the images. The images declare their USER by name
 * (`nobody`), which `runAsNonRoot` cannot verify, so pods would be refused at
 * start unless the uid is set explicitly.
 */
export const IMAGE_UIDS: Record<ImageName, number> = {
  prometheus: 65534,
  alertmanager: 65534,
  grafana: 472,
  nodeExporter: 65534,
  kubeStateMetrics: 65534,
  ingest: 10001,
  /** The postgres user of the Debian-based image. */
  postgres: 999,
  /** Alpine with no USER of its own: nobody, with HOME and rclone's config in /tmp. */
  backupUploader: 65534,
  elasticsearch: 1000,
  logstash: 1000,
  kibana: 1000,
  filebeat: 1000,
  jaeger: 10001,
  /** The busybox-based image runs as nobody. */
  elasticsearchExporter: 65534,
  /** A static binary on scratch: any uid works; nobody by convention. */
  logstashExporter: 65534,
  /** Busybox-based, `USER nobody` in its Dockerfile. */
  postgresExporter: 65534,
  /** A static binary on scratch with `USER 59000:59000` in its Dockerfile. */
  redisExporter: 59000,
  /** Busybox-based, with no USER of its own: nobody, since without an ICMP module it needs nothing root has. */
  blackboxExporter: 65534,
  /** Distroless static with `USER 65534` in its Dockerfile. */
  configReloader: 65534,
  /** Python on Alpine with `USER 65534:65534` in its Dockerfile. */
  k8sSidecar: 65534,
  /** Busybox-based, `USER 1001` in its Dockerfile since v0.32 (root before). The sidecar runs as Prometheus's user instead: it writes into Prometheus's data folder. */
  thanos: 1001,
};
