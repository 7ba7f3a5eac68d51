import { Lazy } from 'cdk8s';
import { k8s } from 'cdk8s-plus-27';
import { Construct } from 'constructs';
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
import { remoteWriteEgress, remoteWriteSecrets } from './remote-write.js';

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
  /**
   * Whether Prometheus loads the rule files. A shard sees only its part of the
   * series, so its rules would alert on a slice (an `absent()` fires, a sum is
   * short): a rule evaluator over the merged view (Thanos Ruler) then takes
   * them from the same `prometheus-rules` ConfigMap, which is still written.
   * @default true
   */
  readonly evaluateRules?: boolean;
}

/**
 * What a sidecar adds to every Prometheus pod of every shard (Thanos's
 * sidecar): its containers and volumes, arguments to Prometheus itself, and
 * ports the headless Service serves too (for DNS SRV discovery).
 */
export interface PrometheusPodExtension {
  readonly containers?: readonly k8s.Container[];
  readonly volumes?: readonly k8s.Volume[];
  readonly args?: readonly string[];
  readonly servicePorts?: readonly k8s.ServicePort[];
}

const PORT = 9090;
const CONFIG_DIR = '/etc/prometheus';
/** The pod label that tells the shards apart (only when there is more than one). */
export const SHARD_LABEL = 'prometheus.obstack.io/shard';

/**
 * Prometheus as a StatefulSet with Kubernetes service discovery, its rule
 * files from a ConfigMap, and a config-reloader sidecar that makes it reload
 * prometheus.yml and the rules when those ConfigMaps change, without a rollout.
 *
 * With `settings.shards` above 1 it is N StatefulSets (`prometheus-shard-<i>`),
 * each with the environment's replicas, its own prometheus.yml (ConfigMap
 * `prometheus-shard-<i>-config`), Service, PodDisruptionBudget and volumes,
 * keeping only the targets whose address hashes to it. They share the
 * ServiceAccount, the rule files, the NetworkPolicy and the headless Service
 * (every shard's pods, for self-scraping and for a sidecar's discovery).
 */
export class Prometheus extends StackComponent {
  readonly port = PORT;
  /** How many shards split the targets. */
  readonly shards: number;
  /** The StatefulSet (and Service) of each shard: `prometheus` when not sharded. */
  readonly shardNames: readonly string[];
  /** The headless Service over every pod of every shard. */
  readonly headlessServiceName: string;
  private readonly evaluateRules: boolean;
  private readonly instance: string;
  private readonly podExtensions: PrometheusPodExtension[] = [];
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
    this.instance = props.instance;
    this.evaluateRules = props.evaluateRules ?? true;
    const { settings } = props;
    const replicas = settings.replicas;
    const shards = settings.shards ?? 1;
    if (!Number.isInteger(shards) || shards < 1) throw new Error(`settings.shards must be a whole number of at least 1, got ${shards}`);
    if (shards > 1 && settings.ingress.enabled) throw new Error(`settings.ingress must be off when settings.shards is ${shards}: one shard shows only its part of the series`);
    this.shards = shards;
    this.shardNames = shards === 1 ? [this.name] : Array.from({ length: shards }, (_, i) => `${this.name}-shard-${i}`);
    this.headlessServiceName = `${this.name}-headless`;
    const remoteWrite = settings.remoteWrite ?? [];
    const uid = IMAGE_UIDS.prometheus;
    const jobContext = { namespace: props.namespace, clusterDomain: this.clusterDomain };
    this.declared = props.scrape ? declaredJobs(props.scrape, jobContext, settings.scrapeInterval) : [];
    this.kubelet = props.controlPlane?.kubelet.enabled ?? true;
    this.controlPlaneJobs = props.controlPlane ? controlPlaneJobs(props.controlPlane) : [];
    // Least privilege: nodes/metrics only for the kubelet jobs, GET /metrics only for the parts that authorize it.
    const metricsUrl = props.controlPlane ? needsMetricsUrl(props.controlPlane) : true;
    // Only the keys the jobs read, each Secret mounted on its own below SCRAPE_SECRETS_DIR.
    const bySecret = props.scrape ? scrapeSecrets(props.scrape) : new Map<string, Set<string>>();
    for (const r of [...(props.componentScrapeSecrets ?? []), ...remoteWriteSecrets(remoteWrite)]) bySecret.set(r.secretName, (bySecret.get(r.secretName) ?? new Set()).add(r.key));
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

    // Not sharded, the objects keep the ids, names and order they always had.
    const shardParts = this.shardNames.map((name, index) => {
      const scope: Construct = shards === 1 ? this : new Construct(this, `Shard${index}`);
      const labels = shards === 1 ? this.labels : { ...this.labels, [SHARD_LABEL]: String(index) };
      const selector = shards === 1 ? this.selector : { ...this.selector, [SHARD_LABEL]: String(index) };
      const configMap = new k8s.KubeConfigMap(scope, 'Config', {
        metadata: { name: `${name}-config`, labels },
        data: { 'prometheus.yml': Lazy.any({ produce: () => this.renderConfig(index) }) },
      });
      return { name, index, scope, labels, selector, configMap };
    });
    new k8s.KubeConfigMap(this, 'Rules', {
      metadata: { name: 'prometheus-rules', labels: this.labels },
      data: Lazy.any({ produce: () => Object.fromEntries([...this.ruleFiles.entries()].sort(([a], [b]) => a.localeCompare(b))) }),
    });

    const headless = new k8s.KubeService(this, 'HeadlessService', {
      metadata: { name: this.headlessServiceName, labels: this.labels },
      spec: {
        clusterIp: 'None',
        selector: this.selector,
        ports: Lazy.any({
          produce: () => [{ name: 'web', port: PORT, targetPort: k8s.IntOrString.fromString('web') }, ...this.podExtensions.flatMap((e) => e.servicePorts ?? [])],
        }),
      },
    });

    const data = dataVolume('data', settings.storage, this.labels);
    const retention = [`--storage.tsdb.retention.time=${settings.retention.time}`];
    if (settings.retention.size) retention.push(`--storage.tsdb.retention.size=${settings.retention.size}`);

    for (const { name, index, scope, labels, selector, configMap } of shardParts) {
      new k8s.KubeService(scope, 'Service', {
        metadata: { name, labels },
        spec: {
          type: 'ClusterIP',
          selector,
          // Queries from Grafana stay on one replica, so a dashboard does not flicker between two histories.
          sessionAffinity: 'ClientIP',
          ports: [{ name: 'web', port: PORT, targetPort: k8s.IntOrString.fromString('web') }],
        },
      });

      new k8s.KubeStatefulSet(scope, 'Resource', {
        metadata: { name, labels },
        spec: {
          serviceName: headless.name,
          replicas,
          podManagementPolicy: 'Parallel',
          selector: { matchLabels: selector },
          ...(data.claims.length > 0 ? { volumeClaimTemplates: data.claims } : {}),
          template: {
            // No checksum of prometheus.yml or the rules: the kubelet updates the mounted ConfigMaps and the sidecar reloads them.
            metadata: { labels },
            spec: {
              serviceAccountName: sa.name,
              // Discovery needs the API; the token is mounted explicitly rather than by default.
              automountServiceAccountToken: true,
              securityContext: podSecurityContext(uid),
              terminationGracePeriodSeconds: 600,
              ...(replicas > 1 ? { affinity: spreadAffinity(selector) } : {}),
              containers: Lazy.any({
                produce: () => [
                  {
                    name: 'prometheus',
                    image: `${props.image.repository}:${props.image.tag}`,
                    args: [
                      `--config.file=${CONFIG_DIR}/prometheus.yml`,
                      '--storage.tsdb.path=/prometheus',
                      ...retention,
                      `--web.listen-address=:${PORT}`,
                      // The alerts' "source" links (generatorURL) point where people open Prometheus, never at a pod.
                      `--web.external-url=${this.externalUrlOf(index)}`,
                      // A path in the external URL would move every endpoint under it (probes, /-/reload, the API
                      // Grafana queries): they stay at "/", and a proxy serving a path strips it.
                      '--web.route-prefix=/',
                      // POST /-/reload, which the sidecar calls (it also opens /-/quit to whoever may reach this port).
                      '--web.enable-lifecycle',
                      ...this.podExtensions.flatMap((e) => e.args ?? []),
                    ],
                    // The replica's external label (prometheus_replica) is its pod name: Prometheus 3 expands ${POD_NAME}.
                    env: [{ name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } }],
                    ports: [{ name: 'web', containerPort: PORT }],
                    resources: resourceRequirements(settings.resources),
                    securityContext: containerSecurityContext(uid),
                    livenessProbe: httpProbe('/-/healthy', 'web', { initialDelaySeconds: 30, failureThreshold: 6 }),
                    // Replaying the WAL after a restart can take minutes; the pod gets no queries until it is done.
                    readinessProbe: httpProbe('/-/ready', 'web', { initialDelaySeconds: 5, periodSeconds: 5, failureThreshold: 120 }),
                    volumeMounts: [
                      { name: 'config', mountPath: CONFIG_DIR, readOnly: true },
                      ...(this.evaluateRules ? [{ name: 'rules', mountPath: RULES_DIR, readOnly: true }] : []),
                      { name: 'data', mountPath: '/prometheus' },
                      { name: 'tmp', mountPath: '/tmp' },
                      ...secretMounts,
                    ],
                  },
                  configReloaderContainer({
                    reloadUrl: `http://127.0.0.1:${PORT}/-/reload`,
                    watch: [
                      { volume: 'config', mountPath: CONFIG_DIR },
                      ...(this.evaluateRules ? [{ volume: 'rules', mountPath: RULES_DIR }] : []),
                    ],
                    ...(props.reloaderImage ? { image: props.reloaderImage } : {}),
                  }),
                  ...this.podExtensions.flatMap((e) => e.containers ?? []),
                ],
              }),
              volumes: Lazy.any({
                produce: () => [
                  { name: 'config', configMap: { name: configMap.name } },
                  ...(this.evaluateRules ? [{ name: 'rules', configMap: { name: 'prometheus-rules' } }] : []),
                  { name: 'tmp', emptyDir: { sizeLimit: k8s.Quantity.fromString('64Mi') } },
                  ...data.volumes,
                  ...secretVolumes,
                  ...this.podExtensions.flatMap((e) => e.volumes ?? []),
                ],
              }),
            },
          },
        },
      });

      if (replicas > 1) addDisruptionBudget(scope, name, labels, selector);
    }
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
      // The long-term stores, each on its URL's port.
      ...remoteWriteEgress(remoteWrite, jobContext),
    );
    this.addNetworkPolicy();
  }

  /** Where people open Prometheus: `settings.externalUrl`, else its ingress, else its in-cluster Service (the first shard's). */
  get externalUrl(): string {
    return this.externalUrlOf(0);
  }

  private externalUrlOf(shard: number): string {
    return this.settings.externalUrl ?? ingressUrl(this.settings.ingress) ?? this.shardUrl(shard);
  }

  /**
   * The in-cluster URL that Grafana and others query. A sharded Prometheus has
   * none: each shard holds only its part of the series, so the caller queries
   * the layer that merges them (Thanos Query) or the remote store instead.
   */
  get url(): string {
    if (this.shards > 1) {
      throw new Error(
        `Prometheus has ${this.shards} shards and no single one sees every series: query Thanos Query (components.thanos) or the remote-write store instead of prometheus.url`,
      );
    }
    return this.shardUrl(0);
  }

  /** The in-cluster URL of one shard's Service. */
  shardUrl(shard: number): string {
    const name = this.shardNames[shard];
    if (name === undefined) throw new Error(`shard must be from 0 to ${this.shards - 1}, got ${shard}`);
    return `http://${name}.${this.namespace}.svc.${this.clusterDomain}:${PORT}`;
  }

  /** Adds a sidecar's containers, volumes, Prometheus arguments and headless-Service ports to every pod of every shard. */
  extendPod(extension: PrometheusPodExtension): void {
    this.podExtensions.push(extension);
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

  /** The exact prometheus.yml that goes into the ConfigMap of a shard (the only one, when not sharded). */
  renderConfig(shard = 0): string {
    if (!Number.isInteger(shard) || shard < 0 || shard >= this.shards) throw new Error(`shard must be from 0 to ${this.shards - 1}, got ${shard}`);
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
    const remoteWrite = this.settings.remoteWrite ?? [];
    // Series that leave this Prometheus (to a store, to a bucket through a sidecar, or merged with other shards')
    // say where they come from; the Thanos sidecar refuses to start without external labels.
    const leaves = this.shards > 1 || remoteWrite.length > 0 || this.podExtensions.length > 0;
    return yamlText(
      buildPrometheusConfig({
        scrapeInterval: this.settings.scrapeInterval,
        evaluationInterval: this.settings.evaluationInterval,
        externalLabels: this.settings.externalLabels,
        replicaLabel: this.settings.replicas > 1 || leaves,
        ...(leaves ? { cluster: this.instance } : {}),
        ...(this.shards > 1 ? { shard: { index: shard, count: this.shards } } : {}),
        remoteWrite,
        alertmanagers: this.alertmanagerTargets,
        endpoints: this.endpoints,
        ruleFiles: this.evaluateRules,
        teams: this.teamOwnership,
        declaredJobs: this.declared,
        probeJobs: this.probeJobs,
        kubelet: this.kubelet,
        controlPlaneJobs: this.controlPlaneJobs,
      }));
  }
}
