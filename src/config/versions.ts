/**
 * The one place where image versions are pinned. An environment may override
 * an image, but the defaults of every component come from here.
 */
export const IMAGES = {
  prometheus: { repository: 'quay.io/prometheus/prometheus', tag: 'v3.5.0' },
  alertmanager: { repository: 'quay.io/prometheus/alertmanager', tag: 'v0.28.1' },
  grafana: { repository: 'docker.io/grafana/grafana', tag: '12.1.1' },
  nodeExporter: { repository: 'quay.io/prometheus/node-exporter', tag: 'v1.9.1' },
  kubeStateMetrics: { repository: 'registry.k8s.io/kube-state-metrics/kube-state-metrics', tag: 'v2.16.0' },
  /** Built from this repository's Dockerfile and pushed to the team's registry. */
  ingest: { repository: 'docker.io/obstack/ingest', tag: '0.1.0' },
  postgres: { repository: 'docker.io/library/postgres', tag: '16.10-bookworm' },
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
};
