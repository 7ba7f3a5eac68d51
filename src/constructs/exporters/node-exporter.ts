import { k8s } from 'cdk8s-plus-27';
import type { Construct } from 'constructs';
import type { Environment, Image } from '../../config/index.js';
import { IMAGE_UIDS } from '../../config/index.js';
import { StackComponent } from '../common/component.js';
import { containerSecurityContext, exemptionAnnotations, httpProbe, podSecurityContext, resourceRequirements } from '../common/security.js';
import type { ScrapeEndpoint } from '../prometheus/scrape.js';

export interface NodeExporterProps {
  readonly namespace: string;
  readonly instance: string;
  readonly settings: Environment['components']['nodeExporter'];
  readonly image: Image;
}

const PORT = 9100;

/** node-exporter on every node, for CPU, memory, disk and network of the hosts. */
export class NodeExporter extends StackComponent {
  constructor(scope: Construct, id: string, props: NodeExporterProps) {
    super(scope, id, {
      name: 'node-exporter',
      namespace: props.namespace,
      instance: props.instance,
      version: props.image.tag,
      component: 'node-metrics',
      ports: [{ port: PORT }],
    });
    const uid = IMAGE_UIDS.nodeExporter;

    this.addServiceAccount();
    new k8s.KubeService(this, 'Service', {
      metadata: { name: this.name, labels: this.labels },
      spec: { clusterIp: 'None', selector: this.selector, ports: [{ name: 'metrics', port: PORT, targetPort: k8s.IntOrString.fromString('metrics') }] },
    });

    const hostMount = (name: string, path: string): { volume: k8s.Volume; mount: k8s.VolumeMount } => ({
      volume: { name, hostPath: { path } },
      mount: { name, mountPath: `/host${path === '/' ? '/root' : path}`, readOnly: true, ...(path === '/' ? { mountPropagation: 'HostToContainer' } : {}) },
    });
    const mounts = [hostMount('proc', '/proc'), hostMount('sys', '/sys'), hostMount('root', '/')];

    new k8s.KubeDaemonSet(this, 'Resource', {
      metadata: { name: this.name, labels: this.labels },
      spec: {
        selector: { matchLabels: this.selector },
        updateStrategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: k8s.IntOrString.fromString('10%') } },
        template: {
          metadata: {
            labels: this.labels,
            annotations: exemptionAnnotations({
              'host-namespaces':
                "node-exporter reports the host's network interfaces and processes, which only the host network and PID namespaces show",
              'host-path': 'node-exporter reads /proc, /sys and the root filesystem of the host, mounted read-only',
            }),
          },
          spec: {
            serviceAccountName: this.name,
            automountServiceAccountToken: false,
            hostNetwork: true,
            hostPid: true,
            dnsPolicy: 'ClusterFirstWithHostNet',
            priorityClassName: 'system-node-critical',
            securityContext: podSecurityContext(uid),
            // Every node, including tainted control-plane and dedicated nodes.
            tolerations: [{ operator: 'Exists' }],
            containers: [
              {
                name: 'node-exporter',
                image: `${props.image.repository}:${props.image.tag}`,
                args: [
                  '--path.procfs=/host/proc',
                  '--path.sysfs=/host/sys',
                  '--path.rootfs=/host/root',
                  `--web.listen-address=:${PORT}`,
                  '--collector.filesystem.mount-points-exclude=^/(dev|proc|sys|run/k3s/containerd/.+|var/lib/docker/.+|var/lib/kubelet/pods/.+)($|/)',
                  '--collector.netclass.ignored-devices=^(veth.*|[a-f0-9]{15})$',
                  '--collector.netdev.device-exclude=^(veth.*|[a-f0-9]{15})$',
                ],
                ports: [{ name: 'metrics', containerPort: PORT, hostPort: PORT }],
                resources: resourceRequirements(props.settings.resources),
                securityContext: containerSecurityContext(uid),
                livenessProbe: httpProbe('/', 'metrics'),
                readinessProbe: httpProbe('/', 'metrics', { initialDelaySeconds: 3 }),
                volumeMounts: mounts.map((m) => m.mount),
              },
            ],
            volumes: mounts.map((m) => m.volume),
          },
        },
      },
    });
    // Host-network pods are outside NetworkPolicy's reach in most CNIs; the policy still states the intent.
    this.addNetworkPolicy();
  }

  get scrapeEndpoints(): readonly ScrapeEndpoint[] {
    return [{ jobName: 'node-exporter', namespace: this.namespace, serviceName: this.name, portName: 'metrics', instanceFromNode: true }];
  }
}
