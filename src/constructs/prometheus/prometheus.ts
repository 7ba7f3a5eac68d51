import { Lazy } from 'cdk8s';
import { k8s } from 'cdk8s-plus-27';
import type { Construct } from 'constructs';
import { clusterScoped } from '../common/cluster-scoped.js';
import type { ControlPlaneConfig, Environment, Image, ScrapeConfig, SecretRef } from '../../config/index.js';
import { IMAGE_UIDS } from '../../config/index.js';
import { addDisruptionBudget, spreadAffinity } from '../common/availability.js';
import { configReloaderContainer } from '../common/config-reloader.js';
import { StackComponent } from '../common/component.js';
import { API_SERVER_FLOW } from '../common/network.js';
import { containerSecurityContext, httpProbe, podSecurityContext, resourceRequirements } from '../common/security.js';
import { dataVolume } from '../common/storage.js';
import { addIngress, ingressUrl } from '../common/ingress.js';
import { RULES_DIR, type TeamOwnership, buildPrometheusConfig } from './config.js';
import type { ScrapeEndpoint, ScrapeTarget } from './scrape.js';
import { SCRAPE_SECRETS_DIR, declaredEgress, declaredJobs, scrapeSecrets, secretFile } from './declared-jobs.js';
import { yamlText } from '../../config/yaml-text.js';
import { controlPlaneEgress, controlPlaneJobs, needsMetricsUrl } from './control-plane-jobs.js';

export type PrometheusSettings = Environment['components']['prometheus'];

export interface PrometheusProps {
  readonly namespace: string;
  /** The environment's name: the `app.kubernetes.io/instance` label. */
  readonly instance: string;
  readonly settings: PrometheusSettings;
  readonly image: Image;
  /** @default 'cluster.local' */
  readonly clusterDomain?: string;
  /** Scrape jobs the environment declares: static targets, monitors, raw scrape_configs. @default - none */
  readonly scrape?: ScrapeConfig;
  /**
   * Secret keys the stack's components' scrape endpoints read (`ScrapeEndpoint.bearerToken`),
   * mounted with the declared jobs' ones; `scrape()` refuses an endpoint whose key is not here.
   * @default - none
   */
  readonly componentScrapeSecrets?: readonly SecretRef[];
  /** The config-reloader sidecar's image. @default IMAGES.configReloader */
  readonly reloaderImage?: Image;
  /**
   * Which parts of the Kubernetes control plane to scrape: their jobs, the
   * egress to the host-network ones, and the RBAC their `/metrics` needs.
   * @default - the kubelet and cAdvisor only
   */
  readonly controlPlane?: ControlPlaneConfig;
}

const PORT = 9090;
const CONFIG_DIR = '/etc/prometheus';

/**
 * Prometheus as a StatefulSet with Kubernetes service discovery, its rule
 * files from a ConfigMap, and a config-reloader sidecar that makes it reload
 * prometheus.yml and the rules when those ConfigMaps change, without a rollout.
 */
export class Prometheus extends StackComponent {
  readonly port = PORT;
  private readonly settings: PrometheusSettings;
  private readonly clusterDomain: string;
  private readonly endpoints: ScrapeEndpoint[] = [];
  private readonly alertmanagerTargets: string[] = [];
  private readonly teamOwnership: TeamOwnership[] = [];
  private readonly ruleFiles = new Map<string, string>();
  private readonly probeJobs: Record<string, unknown>[] = [];
  private readonly declared: readonly Record<string, unknown>[];
  private readonly kubelet: boolean;
  private readonly controlPlaneJobs: readonly Record<string, unknown>[];
  /** In-pod files of the mounted scrape Secret keys. */
  private readonly mountedSecretFiles: ReadonlySet<string>;

  constructor(scope: Construct, id: string, props: PrometheusProps) {
    super(scope, id, {
      name: 'prometheus',
      namespace: props.namespace,
      instance: props.instance,
      version: props.image.tag,
      component: 'metrics',
      ports: [{ port: PORT }],
    });
    this.settings = props.settings;
    this.clusterDomain = props.clusterDomain ?? 'cluster.local';
    const { settings } = props;
    const replicas = settings.replicas;
    const uid = IMAGE_UIDS.prometheus;
    const jobContext = { namespace: props.namespace, clusterDomain: this.clusterDomain };
    this.declared = props.scrape ? declaredJobs(props.scrape, jobContext, settings.scrapeInterval) : [];
    this.kubelet = props.controlPlane?.kubelet.enabled ?? true;
    this.controlPlaneJobs = props.controlPlane ? controlPlaneJobs(props.controlPlane) : [];
    // Least privilege: nodes/metrics only for the kubelet jobs, GET /metrics only for the parts that authorize it.
    const metricsUrl = props.controlPlane ? needsMetricsUrl(props.controlPlane) : true;
    // Only the keys the jobs read, each Secret mounted on its own below SCRAPE_SECRETS_DIR.
    const bySecret = props.scrape ? scrapeSecrets(props.scrape) : new Map<string, Set<string>>();
    for (const r of props.componentScrapeSecrets ?? []) bySecret.set(r.secretName, (bySecret.get(r.secretName) ?? new Set()).add(r.key));
    const secrets = [...bySecret.entries()].sort(([a], [b]) => a.localeCompare(b));
    this.mountedSecretFiles = new Set(secrets.flatMap(([secretName, keys]) => [...keys].map((key) => secretFile({ secretName, key }))));
    const secretVolumes: k8s.Volume[] = secrets.map(([secretName, keys], i) => ({
      name: `scrape-secret-${i}`,
      secret: { secretName, items: [...keys].sort().map((key) => ({ key, path: key })) },
    }));
    const secretMounts: k8s.VolumeMount[] = secrets.map(([secretName], i) => ({ name: `scrape-secret-${i}`, mountPath: `${SCRAPE_SECRETS_DIR}/${secretName}`, readOnly: true }));

    const sa = this.addServiceAccount();
    // Service discovery reads these; nodes/metrics is what the kubelet checks for /metrics and /metrics/cadvisor.
    const role = clusterScoped(new k8s.KubeClusterRole(this, 'ClusterRole', {
      metadata: { name: `${props.namespace}-prometheus`, labels: this.labels },
      rules: [
        { apiGroups: [''], resources: ['nodes', ...(this.kubelet ? ['nodes/metrics'] : []), 'services', 'endpoints', 'pods'], verbs: ['get', 'list', 'watch'] },
        { apiGroups: ['discovery.k8s.io'], resources: ['endpointslices'], verbs: ['get', 'list', 'watch'] },
        ...(metricsUrl ? [{ nonResourceUrLs: ['/metrics'], verbs: ['get'] }] : []),
      ],
    }));
    clusterScoped(new k8s.KubeClusterRoleBinding(this, 'ClusterRoleBinding', {
      metadata: { name: `${props.namespace}-prometheus`, labels: this.labels },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: role.name },
      subjects: [{ kind: 'ServiceAccount', name: sa.name, namespace: props.namespace }],
    }));

    new k8s.KubeConfigMap(this, 'Config', {
      metadata: { name: 'prometheus-config', labels: this.labels },
      data: { 'prometheus.yml': Lazy.any({ produce: () => this.renderConfig() }) },
    });
    new k8s.KubeConfigMap(this, 'Rules', {
      metadata: { name: 'prometheus-rules', labels: this.labels },
      data: Lazy.any({ produce: () => Object.fromEntries([...this.ruleFiles.entries()].sort(([a], [b]) => a.localeCompare(b))) }),
    });

    const headless = new k8s.KubeService(this, 'HeadlessService', {
      metadata: { name: `${this.name}-headless`, labels: this.labels },
      spec: { clusterIp: 'None', selector: this.selector, ports: [{ name: 'web', port: PORT, targetPort: k8s.IntOrString.fromString('web') }] },
    });
    new k8s.KubeService(this, 'Service', {
      metadata: { name: this.name, labels: this.labels },
      spec: {
        type: 'ClusterIP',
        selector: this.selector,
        // Queries from Grafana stay on one replica, so a dashboard does not flicker between two histories.
        sessionAffinity: 'ClientIP',
        ports: [{ name: 'web', port: PORT, targetPort: k8s.IntOrString.fromString('web') }],
      },
    });

    const data = dataVolume('data', settings.storage, this.labels);
    const retention = [`--storage.tsdb.retention.time=${settings.retention.time}`];
    if (settings.retention.size) retention.push(`--storage.tsdb.retention.size=${settings.retention.size}`);

    new k8s.KubeStatefulSet(this, 'Resource', {
      metadata: { name: this.name, labels: this.labels },
      spec: {
        serviceName: headless.name,
        replicas,
        podManagementPolicy: 'Parallel',
        selector: { matchLabels: this.selector },
        ...(data.claims.length > 0 ? { volumeClaimTemplates: data.claims } : {}),
        template: {
          // No checksum of prometheus.yml or the rules: the kubelet updates the mounted ConfigMaps and the sidecar reloads them.
          metadata: { labels: this.labels },
          spec: {
            serviceAccountName: sa.name,
            // Discovery needs the API; the token is mounted explicitly rather than by default.
            automountServiceAccountToken: true,
            securityContext: podSecurityContext(uid),
            terminationGracePeriodSeconds: 600,
            ...(replicas > 1 ? { affinity: spreadAffinity(this.selector) } : {}),
            containers: [
              {
                name: 'prometheus',
                image: `${props.image.repository}:${props.image.tag}`,
                args: [
                  `--config.file=${CONFIG_DIR}/prometheus.yml`,
                  '--storage.tsdb.path=/prometheus',
                  ...retention,
                  `--web.listen-address=:${PORT}`,
                  // The alerts' "source" links (generatorURL) point where people open Prometheus, never at a pod.
                  `--web.external-url=${this.externalUrl}`,
                  // A path in the external URL would move every endpoint under it (probes, /-/reload, the API
                  // Grafana queries): they stay at "/", and a proxy serving a path strips it.
                  '--web.route-prefix=/',
                  // POST /-/reload, which the sidecar calls (it also opens /-/quit to whoever may reach this port).
                  '--web.enable-lifecycle',
                ],
                env: [{ name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } }],
                ports: [{ name: 'web', containerPort: PORT }],
                resources: resourceRequirements(settings.resources),
                securityContext: containerSecurityContext(uid),
                livenessProbe: httpProbe('/-/healthy', 'web', { initialDelaySeconds: 30, failureThreshold: 6 }),
                // Replaying the WAL after a restart can take minutes; the pod gets no queries until it is done.
                readinessProbe: httpProbe('/-/ready', 'web', { initialDelaySeconds: 5, periodSeconds: 5, failureThreshold: 120 }),
                volumeMounts: [
                  { name: 'config', mountPath: CONFIG_DIR, readOnly: true },
                  { name: 'rules', mountPath: RULES_DIR, readOnly: true },
                  { name: 'data', mountPath: '/prometheus' },
                  { name: 'tmp', mountPath: '/tmp' },
                  ...secretMounts,
                ],
              },
              configReloaderContainer({
                reloadUrl: `http://127.0.0.1:${PORT}/-/reload`,
                watch: [
                  { volume: 'config', mountPath: CONFIG_DIR },
                  { volume: 'rules', mountPath: RULES_DIR },
                ],
                ...(props.reloaderImage ? { image: props.reloaderImage } : {}),
              }),
            ],
            volumes: [
              { name: 'config', configMap: { name: 'prometheus-config' } },
              { name: 'rules', configMap: { name: 'prometheus-rules' } },
              { name: 'tmp', emptyDir: { sizeLimit: k8s.Quantity.fromString('64Mi') } },
              ...data.volumes,
              ...secretVolumes,
            ],
          },
        },
      },
    });

    if (replicas > 1) addDisruptionBudget(this, this.name, this.labels, this.selector);
    // Its own replicas scrape each other (self-monitoring through the headless Service).
    this.allowFrom(this);
    if (settings.ingress.enabled) {
      const controller = addIngress(this, { name: this.name, labels: this.labels, ingress: settings.ingress, servicePort: PORT });
      this.ingress.push({ peers: [controller], ports: [{ port: PORT }] });
    }
    this.scrape(this);

    this.egress.push(
      API_SERVER_FLOW,
      // Scrape targets live in any namespace on any port; nodes (kubelet, node-exporter) are host addresses.
      { peers: [{ anyNamespace: true }] },
      { peers: [{ cidr: '0.0.0.0/0' }], ports: [{ port: 10250 }, { port: 9100 }] },
      // etcd, the scheduler, the controller-manager and kube-proxy listen on node addresses.
      ...(props.controlPlane ? controlPlaneEgress(props.controlPlane) : []),
      // What the environment declares, each with its own flow.
      ...(props.scrape ? declaredEgress(props.scrape, jobContext) : []),
    );
    this.addNetworkPolicy();
  }

  /** Where people open Prometheus: `settings.externalUrl`, else its ingress, else its in-cluster Service. */
  get externalUrl(): string {
    return this.settings.externalUrl ?? ingressUrl(this.settings.ingress) ?? this.url;
  }

  /** The in-cluster URL that Grafana and others query. */
  get url(): string {
    return `http://${this.name}.${this.namespace}.svc.${this.clusterDomain}:${PORT}`;
  }

  get scrapeEndpoints(): readonly ScrapeEndpoint[] {
    return [{ jobName: 'prometheus', namespace: this.namespace, serviceName: `${this.name}-headless`, portName: 'web' }];
  }

  /** Scrapes every endpoint of a component of the stack. */
  scrape(target: ScrapeTarget): void {
    for (const e of target.scrapeEndpoints) {
      if (e.bearerToken && !this.mountedSecretFiles.has(secretFile(e.bearerToken))) {
        throw new Error(
          `scrape endpoint "${e.jobName}" reads its bearer token from Secret "${e.bearerToken.secretName}" key "${e.bearerToken.key}", ` +
            'which Prometheus does not mount: pass it in componentScrapeSecrets',
        );
      }
    }
    this.endpoints.push(...target.scrapeEndpoints);
  }

  /** Scrapes the probes of a blackbox exporter: one job per kind of probe, each asking the exporter for its targets. */
  probe(blackbox: { readonly probeJobs: readonly Record<string, unknown>[] }): void {
    this.probeJobs.push(...blackbox.probeJobs);
  }

  /**
   * Sends alerts to every Alertmanager replica directly, as Alertmanager's
   * clustering expects, with the `team` label its routing tree reads.
   */
  alertTo(alertmanager: { readonly peerAddresses: readonly string[]; readonly teamOwnership?: readonly TeamOwnership[] }): void {
    this.alertmanagerTargets.push(...alertmanager.peerAddresses);
    this.teamOwnership.push(...(alertmanager.teamOwnership ?? []));
  }

  /** Mounts a rule file (Prometheus rule-file YAML) into the rules folder. */
  addRuleFile(fileName: string, content: string): void {
    if (!/^[a-z0-9][-a-z0-9.]*\.yaml$/.test(fileName)) {
      throw new Error(`rule file name must be kebab-case and end in .yaml, got "${fileName}"`);
    }
    if (this.ruleFiles.has(fileName)) throw new Error(`rule file "${fileName}" is added twice`);
    this.ruleFiles.set(fileName, content);
  }

  /** Rule files by name, as mounted. */
  get rules(): ReadonlyMap<string, string> {
    return this.ruleFiles;
  }

  /** The exact prometheus.yml that goes into the ConfigMap. */
  renderConfig(): string {
    // The environment schema refuses clashes by name already; this guards jobs wired in code.
    const owners = new Map<string, string>();
    for (const e of this.endpoints) owners.set(e.jobName, `the stack's ${e.jobName} job`);
    for (const j of this.probeJobs) owners.set(String(j.job_name), `the stack's ${String(j.job_name)} probe job`);
    for (const j of this.controlPlaneJobs) owners.set(String(j.job_name), `the control plane's ${String(j.job_name)} job`);
    for (const j of this.declared) {
      const name = String(j.job_name);
      const other = owners.get(name);
      if (other) throw new Error(`scrape job "${name}" is declared twice: by the environment's scrape section and by ${other}`);
      owners.set(name, 'the environment\'s scrape section');
    }
    return yamlText(
      buildPrometheusConfig({
        scrapeInterval: this.settings.scrapeInterval,
        evaluationInterval: this.settings.evaluationInterval,
        externalLabels: this.settings.externalLabels,
        replicaLabel: this.settings.replicas > 1,
        alertmanagers: this.alertmanagerTargets,
        endpoints: this.endpoints,
        ruleFiles: true,
        teams: this.teamOwnership,
        declaredJobs: this.declared,
        probeJobs: this.probeJobs,
        kubelet: this.kubelet,
        controlPlaneJobs: this.controlPlaneJobs,
      }));
  }
}
