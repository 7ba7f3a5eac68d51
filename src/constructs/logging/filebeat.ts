import { k8s } from 'cdk8s-plus-27';
import type { Construct } from 'constructs';
import type { Environment, Image } from '../../config/index.js';
import { IMAGE_UIDS } from '../../config/index.js';
import { checksum } from '../common/checksum.js';
import { clusterScoped } from '../common/cluster-scoped.js';
import { API_SERVER_FLOW } from '../common/network.js';
import { containerSecurityContext, exemptionAnnotations, httpProbe, podSecurityContext, resourceRequirements } from '../common/security.js';
import type { ScrapeEndpoint } from '../prometheus/scrape.js';
import { ConnectedComponent } from './connected.js';
import type { Logstash } from './logstash.js';
import { yamlText } from '../../config/yaml-text.js';

export interface FilebeatProps {
  readonly namespace: string;
  readonly instance: string;
  readonly settings: Environment['components']['filebeat'];
  readonly image: Image;
  readonly logstash: Logstash;
  /** @default 'cluster.local' */
  readonly clusterDomain?: string;
}

const MONITORING_PORT = 5066;
const HOME = '/usr/share/filebeat';

/** filebeat.yml: container logs with Kubernetes metadata, shipped to Logstash. */
export function filebeatConfig(logstashHost: string, beatsPort: number): Record<string, unknown> {
  return {
    'filebeat.inputs': [
      {
        type: 'filestream',
        id: 'kubernetes-containers',
        paths: ['/var/log/containers/*.log'],
        // Container runtimes write CRI or docker JSON lines; the parser unwraps them and keeps the stream.
        parsers: [{ container: { stream: 'all', format: 'auto' } }],
        prospector: { scanner: { symlinks: true } },
        processors: [
          {
            add_kubernetes_metadata: {
              host: '${NODE_NAME}',
              matchers: [{ logs_path: { logs_path: '/var/log/containers/' } }],
            },
          },
        ],
      },
    ],
    'output.logstash': { hosts: [`${logstashHost}:${beatsPort}`], loadbalance: true },
    'http.enabled': true,
    'http.host': '0.0.0.0',
    'http.port': MONITORING_PORT,
    'logging.to_stderr': true,
    'logging.json': true,
    'path.data': `${HOME}/data`,
    'path.logs': `${HOME}/logs`,
  };
}

/**
 * Filebeat on every node: reads the container logs the kubelet keeps under
 * /var/log/containers (symlinks into /var/log/pods), read-only, and ships
 * them with their pod's metadata to Logstash.
 */
export class Filebeat extends ConnectedComponent {
  constructor(scope: Construct, id: string, props: FilebeatProps) {
    super(scope, id, {
      name: 'filebeat',
      namespace: props.namespace,
      instance: props.instance,
      version: props.image.tag,
      component: 'logs-collector',
      ports: [{ port: MONITORING_PORT }],
    });
    const uid = IMAGE_UIDS.filebeat;
    const clusterDomain = props.clusterDomain ?? 'cluster.local';
    const logstashHost = `${props.logstash.name}.${props.namespace}.svc.${clusterDomain}`;
    const config = yamlText(filebeatConfig(logstashHost, props.logstash.beatsPort));

    const sa = this.addServiceAccount();
    // add_kubernetes_metadata watches the pods of its node and reads their namespaces and owners.
    const role = clusterScoped(new k8s.KubeClusterRole(this, 'ClusterRole', {
      metadata: { name: `${props.namespace}-filebeat`, labels: this.labels },
      rules: [
        { apiGroups: [''], resources: ['pods', 'namespaces', 'nodes'], verbs: ['get', 'list', 'watch'] },
        { apiGroups: ['apps'], resources: ['replicasets'], verbs: ['get', 'list', 'watch'] },
        { apiGroups: ['batch'], resources: ['jobs'], verbs: ['get', 'list', 'watch'] },
      ],
    }));
    clusterScoped(new k8s.KubeClusterRoleBinding(this, 'ClusterRoleBinding', {
      metadata: { name: `${props.namespace}-filebeat`, labels: this.labels },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: role.name },
      subjects: [{ kind: 'ServiceAccount', name: sa.name, namespace: props.namespace }],
    }));
    new k8s.KubeConfigMap(this, 'Config', { metadata: { name: this.name, labels: this.labels }, data: { 'filebeat.yml': config } });

    const hostLogs = ['/var/log/containers', '/var/log/pods'];
    new k8s.KubeDaemonSet(this, 'Resource', {
      metadata: { name: this.name, labels: this.labels },
      spec: {
        selector: { matchLabels: this.selector },
        updateStrategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: k8s.IntOrString.fromString('10%') } },
        template: {
          metadata: {
            labels: this.labels,
            annotations: {
              'checksum/config': checksum(config),
              ...exemptionAnnotations({
                'host-path':
                  "Filebeat reads the node's container logs from /var/log/containers and /var/log/pods (the kubelet's log files), mounted read-only",
              }),
            },
          },
          spec: {
            serviceAccountName: sa.name,
            automountServiceAccountToken: true,
            // The kubelet writes log files as root:root 0640: group 0 may read them, so the non-root user joins it.
            securityContext: { ...podSecurityContext(uid), supplementalGroups: [0] },
            tolerations: [{ operator: 'Exists' }],
            terminationGracePeriodSeconds: 30,
            containers: [
              {
                name: 'filebeat',
                image: `${props.image.repository}:${props.image.tag}`,
                args: ['-c', '/etc/filebeat/filebeat.yml', '-e', '--path.home', HOME],
                env: [{ name: 'NODE_NAME', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } }],
                ports: [{ name: 'monitoring', containerPort: MONITORING_PORT }],
                resources: resourceRequirements(props.settings.resources),
                securityContext: containerSecurityContext(uid),
                livenessProbe: httpProbe('/', 'monitoring', { initialDelaySeconds: 20 }),
                readinessProbe: httpProbe('/', 'monitoring', { initialDelaySeconds: 5 }),
                volumeMounts: [
                  { name: 'config', mountPath: '/etc/filebeat', readOnly: true },
                  // The registry of read offsets; an emptyDir survives container restarts, not a new pod.
                  { name: 'data', mountPath: `${HOME}/data` },
                  { name: 'logs', mountPath: `${HOME}/logs` },
                  { name: 'tmp', mountPath: '/tmp' },
                  ...hostLogs.map((p, i) => ({ name: `host-logs-${i}`, mountPath: p, readOnly: true })),
                ],
              },
            ],
            volumes: [
              { name: 'config', configMap: { name: this.name } },
              { name: 'data', emptyDir: { sizeLimit: k8s.Quantity.fromString('256Mi') } },
              { name: 'logs', emptyDir: { sizeLimit: k8s.Quantity.fromString('64Mi') } },
              { name: 'tmp', emptyDir: { sizeLimit: k8s.Quantity.fromString('64Mi') } },
              ...hostLogs.map((p, i) => ({ name: `host-logs-${i}`, hostPath: { path: p, type: 'Directory' } })),
            ],
          },
        },
      },
    });
    this.egress.push(API_SERVER_FLOW);
    props.logstash.allowFrom(this, [{ port: props.logstash.beatsPort }]);
    this.allowTo(props.logstash, props.logstash.beatsPort);
    this.addNetworkPolicy();
  }

  get scrapeEndpoints(): readonly ScrapeEndpoint[] {
    return [];
  }
}
