import { z } from 'zod';
import { DnsLabel } from './primitives.js';

/*
 * Which parts of the Kubernetes control plane Prometheus scrapes. Managed
 * clusters (EKS, GKE, AKS) run etcd, the scheduler and the controller-manager
 * out of reach, and kubeadm binds them to 127.0.0.1 until told otherwise, so
 * each part is switched on or off per environment.
 */

/** A Kubernetes label key and value. A selector is one string, so that an environment's replaces the default whole rather than merging into it. */
const LABEL_KEY = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

const Switch = z.strictObject({ enabled: z.boolean() });

/** A part of the control plane that runs as pods (static pods or a DaemonSet), found by its labels and scraped on one port. */
export const ControlPlanePods = z.strictObject({
  enabled: z.boolean(),
  namespace: DnsLabel.describe('namespace its pods run in'),
  selector: z
    .string()
    .refine(
      (s) => s.split(',').every((pair) => {
        const [key, value, ...rest] = pair.split('=');
        return rest.length === 0 && key !== undefined && value !== undefined && LABEL_KEY.test(key) && value.length <= 63 && LABEL_VALUE.test(value);
      }),
      'must be label pairs as `kubectl -l` takes them, such as "component=etcd" or "k8s-app=kube-dns,tier=node"',
    )
    .describe('the labels of its pods, as `kubectl -l` takes them (kubeadm: component=<name>; CoreDNS and kube-proxy: k8s-app=…)'),
  port: z.number().int('must be a whole number').min(1).max(65535).describe('port its /metrics is served on, on the pod (or host) address'),
});
export type ControlPlanePods = z.output<typeof ControlPlanePods>;

export const ControlPlaneConfig = z.strictObject({
  apiServer: Switch.describe('the API servers, through the endpoints of the `kubernetes` Service in `default` (job apiserver)'),
  kubelet: Switch.describe("each node's kubelet /metrics and its cAdvisor /metrics/cadvisor (jobs kubelet and cadvisor)"),
  etcd: ControlPlanePods.describe('etcd over plain HTTP on its --listen-metrics-urls port (job etcd); off on managed clusters'),
  scheduler: ControlPlanePods.describe('kube-scheduler over HTTPS with Prometheus\'s token (job kube-scheduler); off on managed clusters'),
  controllerManager: ControlPlanePods.describe('kube-controller-manager over HTTPS with Prometheus\'s token (job kube-controller-manager); off on managed clusters'),
  coreDns: ControlPlanePods.describe('CoreDNS over plain HTTP (job coredns); off where the cluster DNS is not CoreDNS'),
  kubeProxy: ControlPlanePods.describe('kube-proxy over plain HTTP on its metricsBindAddress port (job kube-proxy); off where a CNI replaces it'),
});
export type ControlPlaneConfig = z.output<typeof ControlPlaneConfig>;

/** The control-plane parts scraped as pods, by their field name. */
export const CONTROL_PLANE_POD_PARTS = ['etcd', 'scheduler', 'controllerManager', 'coreDns', 'kubeProxy'] as const;
export type ControlPlanePodPart = (typeof CONTROL_PLANE_POD_PARTS)[number];
