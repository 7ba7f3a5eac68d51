/** A series selector in promtool's notation: `metric{a="b",…}`. */
export const series = (metric: string, labels: Readonly<Record<string, string>>): string =>
  `${metric}{${Object.entries(labels)
    .map(([k, v]) => `${k}="${v}"`)
    .join(',')}}`;

/** The job names of src/constructs/prometheus/control-plane-jobs.ts (and config.ts's kubelet jobs), which the control-plane rules select on. */
export const JOBS = {
  apiServer: 'apiserver',
  etcd: 'etcd',
  scheduler: 'kube-scheduler',
  controllerManager: 'kube-controller-manager',
  coreDns: 'coredns',
  kubeProxy: 'kube-proxy',
  kubelet: 'kubelet',
  kubeStateMetrics: 'kube-state-metrics',
  kubeStateMetricsSelf: 'kube-state-metrics-self',
} as const;

/** Gives an alert's runbook link (`runbooks(env)`). */
export type Runbook = (name: string) => string;
