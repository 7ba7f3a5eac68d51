import { k8s } from 'cdk8s-plus-27';
import type { Construct } from 'constructs';
import { clusterScoped } from '../common/cluster-scoped.js';
import type { Environment, Image } from '../../config/index.js';
import { IMAGE_UIDS } from '../../config/index.js';
import { addDisruptionBudget, spreadAffinity } from '../common/availability.js';
import { StackComponent } from '../common/component.js';
import { API_SERVER_FLOW } from '../common/network.js';
import { containerSecurityContext, httpProbe, podSecurityContext, resourceRequirements } from '../common/security.js';
import type { ScrapeEndpoint } from '../prometheus/scrape.js';

export interface KubeStateMetricsProps {
  readonly namespace: string;
  readonly instance: string;
  readonly settings: Environment['components']['kubeStateMetrics'];
  readonly image: Image;
}

const HTTP = 8080;
const TELEMETRY = 8081;

/** The objects kube-state-metrics reports on: read-only, list and watch. */
const WATCHED: ReadonlyArray<{ apiGroups: string[]; resources: string[] }> = [
  {
    apiGroups: [''],
    resources: [
      'configmaps', 'secrets', 'nodes', 'pods', 'services', 'serviceaccounts', 'resourcequotas',
      'replicationcontrollers', 'limitranges', 'persistentvolumeclaims', 'persistentvolumes', 'namespaces', 'endpoints',
    ],
  },
  { apiGroups: ['apps'], resources: ['statefulsets', 'daemonsets', 'deployments', 'replicasets'] },
  { apiGroups: ['batch'], resources: ['cronjobs', 'jobs'] },
  { apiGroups: ['autoscaling'], resources: ['horizontalpodautoscalers'] },
  { apiGroups: ['policy'], resources: ['poddisruptionbudgets'] },
  { apiGroups: ['certificates.k8s.io'], resources: ['certificatesigningrequests'] },
  { apiGroups: ['discovery.k8s.io'], resources: ['endpointslices'] },
  { apiGroups: ['storage.k8s.io'], resources: ['storageclasses', 'volumeattachments'] },
  { apiGroups: ['admissionregistration.k8s.io'], resources: ['mutatingwebhookconfigurations', 'validatingwebhookconfigurations'] },
  { apiGroups: ['networking.k8s.io'], resources: ['networkpolicies', 'ingresses', 'ingressclasses'] },
  { apiGroups: ['coordination.k8s.io'], resources: ['leases'] },
  { apiGroups: ['rbac.authorization.k8s.io'], resources: ['clusterrolebindings', 'clusterroles', 'rolebindings', 'roles'] },
];

/** kube-state-metrics: the state of Kubernetes objects (replicas, restarts, volumes) as metrics. */
export class KubeStateMetrics extends StackComponent {
  constructor(scope: Construct, id: string, props: KubeStateMetricsProps) {
    super(scope, id, {
      name: 'kube-state-metrics',
      namespace: props.namespace,
      instance: props.instance,
      version: props.image.tag,
      component: 'cluster-metrics',
      ports: [{ port: HTTP }, { port: TELEMETRY }],
    });
    const { settings } = props;
    const uid = IMAGE_UIDS.kubeStateMetrics;

    const sa = this.addServiceAccount();
    const role = clusterScoped(new k8s.KubeClusterRole(this, 'ClusterRole', {
      metadata: { name: `${props.namespace}-kube-state-metrics`, labels: this.labels },
      rules: WATCHED.map((w) => ({ ...w, verbs: ['list', 'watch'] })),
    }));
    clusterScoped(new k8s.KubeClusterRoleBinding(this, 'ClusterRoleBinding', {
      metadata: { name: `${props.namespace}-kube-state-metrics`, labels: this.labels },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: role.name },
      subjects: [{ kind: 'ServiceAccount', name: sa.name, namespace: props.namespace }],
    }));
    new k8s.KubeService(this, 'Service', {
      metadata: { name: this.name, labels: this.labels },
      spec: {
        clusterIp: 'None',
        selector: this.selector,
        ports: [
          { name: 'http-metrics', port: HTTP, targetPort: k8s.IntOrString.fromString('http-metrics') },
          { name: 'telemetry', port: TELEMETRY, targetPort: k8s.IntOrString.fromString('telemetry') },
        ],
      },
    });

    new k8s.KubeDeployment(this, 'Resource', {
      metadata: { name: this.name, labels: this.labels },
      spec: {
        replicas: settings.replicas,
        selector: { matchLabels: this.selector },
        template: {
          metadata: { labels: this.labels },
          spec: {
            serviceAccountName: sa.name,
            automountServiceAccountToken: true,
            securityContext: podSecurityContext(uid),
            ...(settings.replicas > 1 ? { affinity: spreadAffinity(this.selector) } : {}),
            containers: [
              {
                name: 'kube-state-metrics',
                image: `${props.image.repository}:${props.image.tag}`,
                args: [`--port=${HTTP}`, `--telemetry-port=${TELEMETRY}`],
                ports: [
                  { name: 'http-metrics', containerPort: HTTP },
                  { name: 'telemetry', containerPort: TELEMETRY },
                ],
                resources: resourceRequirements(settings.resources),
                securityContext: containerSecurityContext(uid),
                livenessProbe: httpProbe('/livez', 'http-metrics', { initialDelaySeconds: 5 }),
                readinessProbe: httpProbe('/readyz', 'telemetry', { initialDelaySeconds: 5 }),
              },
            ],
          },
        },
      },
    });
    if (settings.replicas > 1) addDisruptionBudget(this, this.name, this.labels, this.selector);
    this.egress.push(API_SERVER_FLOW);
    this.addNetworkPolicy();
  }

  get scrapeEndpoints(): readonly ScrapeEndpoint[] {
    return [
      // Its series name the objects they describe (namespace, pod, node): those labels are theirs, not this pod's.
      { jobName: 'kube-state-metrics', namespace: this.namespace, serviceName: this.name, portName: 'http-metrics', honorLabels: true },
      { jobName: 'kube-state-metrics-self', namespace: this.namespace, serviceName: this.name, portName: 'telemetry' },
    ];
  }
}
