import { k8s } from 'cdk8s-plus-27';
import type { Construct } from 'constructs';
import type { Environment, Image } from '../../config/index.js';
import { IMAGE_UIDS } from '../../config/index.js';
import { addDisruptionBudget, spreadAffinity } from '../common/availability.js';
import { StackComponent } from '../common/component.js';
import { memoryBytes, podSecurityContext } from '../common/security.js';
import { ConnectedComponent } from './connected.js';
import type { ScrapeEndpoint } from '../prometheus/scrape.js';
import { repositoryPort } from './snapshots.js';
import { HTTP, TRANSPORT, nodeConfig, nodeFiles, nodeStatefulSet } from './node-set.js';

export type ElasticsearchSettings = Environment['components']['elasticsearch'];

export interface ElasticsearchProps {
  readonly namespace: string;
  readonly instance: string;
  readonly settings: ElasticsearchSettings;
  readonly image: Image;
  /** @default 'cluster.local' */
  readonly clusterDomain?: string;
}

/**
 * With tiers, the nodes of `elasticsearch`: the master-eligible set, the ingest
 * pipelines, the backing indices being written (data_hot) and every index that
 * is not a data stream (data_content: Jaeger's, Kibana's, the system indices).
 */
export const HOT_ROLES = ['master', 'data_hot', 'data_content', 'ingest'] as const;
/** The warm nodes hold data only; ILM's migrate action moves the older backing indices to them. */
export const WARM_ROLES = ['data_warm'] as const;

/**
 * The JVM heap in MiB: a share of the container's memory limit, the rest left
 * to the page cache and off-heap buffers, and below 31 GiB so that the JVM
 * keeps compressed object pointers.
 */
export function heapMiB(memoryLimit: string, percent: number): number {
  const mib = Math.floor((memoryBytes(memoryLimit) / 2 ** 20) * (percent / 100));
  if (mib < 256) throw new Error(`elasticsearch heap would be ${mib} MiB (${percent}% of ${memoryLimit}); raise the memory limit`);
  return Math.min(mib, 31 * 1024);
}

/**
 * Elasticsearch as a StatefulSet with security on: every node master-eligible
 * and holding data, transport TLS from a Secret when there is more than one
 * node, no mmap (so no privileged sysctl), heap from the memory limit, and
 * its whole configuration from a ConfigMap copied into a writable folder.
 * With tiers these nodes are the hot tier, and `warm` a second StatefulSet of
 * data-only nodes in the same cluster.
 */
export class Elasticsearch extends ConnectedComponent {
  readonly port = HTTP;
  readonly replicas: number;
  readonly users: ElasticsearchSettings['users'];
  readonly image: Image;
  /** Snapshots to an object store, when the environment asks for them; the setup Job registers the repository and policy. */
  readonly snapshots: ElasticsearchSettings['snapshots'];
  /** Hot/warm tiers, when the environment asks for them; the setup Job adds the warm phase to the ILM policies. */
  readonly tiers: ElasticsearchSettings['tiers'];
  /** The warm nodes, with tiers. */
  readonly warm?: ElasticsearchWarmNodes;
  private readonly clusterDomain: string;

  constructor(scope: Construct, id: string, props: ElasticsearchProps) {
    super(scope, id, {
      name: 'elasticsearch',
      namespace: props.namespace,
      instance: props.instance,
      version: props.image.tag,
      component: 'logs-storage',
      ports: [{ port: HTTP }],
    });
    const { settings } = props;
    this.replicas = settings.replicas;
    this.users = settings.users;
    this.image = props.image;
    this.snapshots = settings.snapshots;
    this.tiers = settings.tiers;
    this.clusterDomain = props.clusterDomain ?? 'cluster.local';
    const uid = IMAGE_UIDS.elasticsearch;
    const replicas = settings.replicas;
    if (replicas > 1 && !settings.transportTls) {
      throw new Error(`elasticsearch with ${replicas} replicas needs transportTls: Elasticsearch 8 refuses a multi-node cluster without transport TLS`);
    }
    if (this.tiers && !settings.transportTls) {
      throw new Error('elasticsearch with tiers needs transportTls: the warm nodes make a multi-node cluster, which Elasticsearch 8 refuses without transport TLS');
    }
    if (this.tiers && this.shardReplicas > 0 && this.tiers.warm.replicas <= this.shardReplicas) {
      throw new Error(`tiers.warm.replicas must be at least ${this.shardReplicas + 1} to hold an index and its replica, got ${this.tiers.warm.replicas}`);
    }
    const heap = heapMiB(settings.resources.limits.memory, settings.heapPercent);
    const headlessName = `${this.name}-headless`;
    const seedHosts = `${headlessName}.${this.namespace}.svc.${this.clusterDomain}`;
    const cluster = `obstack-${props.instance}`;

    this.addServiceAccount();
    const files = nodeFiles(
      nodeConfig({
        cluster,
        ...(this.snapshots ? { snapshots: this.snapshots } : {}),
        ...(this.tiers ? { roles: HOT_ROLES } : {}),
        ...(replicas > 1 || this.tiers
          ? { discovery: { seedHosts, initialMasters: Array.from({ length: replicas }, (_, i) => `${this.name}-${i}`) } }
          : {}),
      }),
    );
    new k8s.KubeConfigMap(this, 'Config', { metadata: { name: 'elasticsearch-config', labels: this.labels }, data: files });

    new k8s.KubeService(this, 'HeadlessService', {
      metadata: { name: headlessName, labels: this.labels },
      spec: {
        clusterIp: 'None',
        // Nodes must find each other before any of them is ready.
        publishNotReadyAddresses: true,
        selector: this.selector,
        ports: [
          { name: 'http', port: HTTP, targetPort: k8s.IntOrString.fromString('http') },
          { name: 'transport', port: TRANSPORT, targetPort: k8s.IntOrString.fromString('transport') },
        ],
      },
    });
    // Clients reach the hot nodes only: they hold the ingest role and the indices being written, and coordinate every search.
    new k8s.KubeService(this, 'Service', {
      metadata: { name: this.name, labels: this.labels },
      spec: { type: 'ClusterIP', selector: this.selector, ports: [{ name: 'http', port: HTTP, targetPort: k8s.IntOrString.fromString('http') }] },
    });

    const image = `${props.image.repository}:${props.image.tag}`;
    nodeStatefulSet(this, 'Resource', {
      name: this.name,
      labels: this.labels,
      selector: this.selector,
      replicas,
      serviceName: headlessName,
      image,
      uid,
      resources: settings.resources,
      heapMiB: heap,
      storage: settings.storage,
      configMap: 'elasticsearch-config',
      files,
      podBasics: this.podBasics(uid, replicas),
      elasticPassword: settings.users.elastic,
      ...(settings.transportTls ? { transportTls: settings.transportTls } : {}),
      ...(this.snapshots ? { snapshots: this.snapshots } : {}),
    });

    if (replicas > 1) addDisruptionBudget(this, this.name, this.labels, this.selector);
    // Nodes talk to each other on the transport port, and the readiness probe uses HTTP locally.
    this.ingress.push({ peers: [{ pods: this.selector }], ports: [{ port: HTTP }, { port: TRANSPORT }] });
    this.egress.push({ peers: [{ pods: this.selector }], ports: [{ port: HTTP }, { port: TRANSPORT }] });
    // Every node writes its shards' snapshot files to the object store itself; its addresses are not known in advance.
    if (this.snapshots) this.egress.push({ peers: [{ cidr: '0.0.0.0/0' }], ports: [{ port: repositoryPort(this.snapshots) }] });
    if (this.tiers && settings.transportTls) {
      this.warm = new ElasticsearchWarmNodes(this, 'Warm', {
        namespace: props.namespace,
        instance: props.instance,
        image: props.image,
        settings,
        tiers: this.tiers,
        transportTls: settings.transportTls,
        cluster,
        seedHosts,
        hot: this,
      });
      // The cluster's nodes, hot and warm, form one transport mesh.
      this.ingress.push({ peers: [{ pods: this.warm.selector }], ports: [{ port: TRANSPORT }] });
      this.egress.push({ peers: [{ pods: this.warm.selector }], ports: [{ port: TRANSPORT }] });
    }
    this.addNetworkPolicy();
  }

  /** The in-cluster URL clients use (plain HTTP inside the namespace; NetworkPolicy limits who may connect). */
  get url(): string {
    return `http://${this.name}.${this.namespace}.svc.${this.clusterDomain}:${HTTP}`;
  }

  /** Replicas of each shard: one when there is a second node to hold it. */
  get shardReplicas(): number {
    return Math.min(1, this.replicas - 1);
  }

  /** Elasticsearch's metrics come from the exporter, not from the nodes. */
  get scrapeEndpoints(): readonly ScrapeEndpoint[] {
    return [];
  }

  /** Lets a client's pods reach the HTTP port, and opens the client's egress to it. */
  connect(client: { readonly selector: Record<string, string>; allowTo(peer: { readonly selector: Record<string, string> }, port: number): void }): void {
    this.allowFrom(client, [{ port: HTTP }]);
    client.allowTo(this, HTTP);
  }
}

export interface ElasticsearchWarmNodesProps {
  readonly namespace: string;
  readonly instance: string;
  readonly image: Image;
  readonly settings: ElasticsearchSettings;
  readonly tiers: NonNullable<ElasticsearchSettings['tiers']>;
  readonly transportTls: { readonly secretName: string };
  /** `cluster.name` of the hot nodes. */
  readonly cluster: string;
  /** The hot nodes' headless Service: the master-eligible nodes a warm node asks to join. */
  readonly seedHosts: string;
  /** The hot nodes: their pods are the warm nodes' transport peers, and their ServiceAccount is shared. */
  readonly hot: { readonly name: string; readonly selector: Record<string, string> };
}

/**
 * The warm tier: data-only nodes (`node.roles: [data_warm]`) that join the
 * hot nodes' cluster. They are not master-eligible, so the voting
 * configuration stays the hot set's odd number of nodes (three in
 * production): adding or removing warm nodes never changes the quorum, and
 * the elected master never shares a node busy with merges and searches over
 * old data. They are not behind the HTTP Service either: clients write to
 * the ingest nodes and any node coordinates a search across both tiers.
 */
export class ElasticsearchWarmNodes extends StackComponent {
  constructor(scope: Construct, id: string, props: ElasticsearchWarmNodesProps) {
    super(scope, id, {
      name: 'elasticsearch-warm',
      namespace: props.namespace,
      instance: props.instance,
      version: props.image.tag,
      component: 'logs-storage',
      ports: [{ port: TRANSPORT }],
    });
    const { settings, tiers } = props;
    const warm = tiers.warm;
    const uid = IMAGE_UIDS.elasticsearch;
    const headlessName = `${this.name}-headless`;
    const configMap = `${this.name}-config`;
    const files = nodeFiles(
      nodeConfig({
        cluster: props.cluster,
        ...(settings.snapshots ? { snapshots: settings.snapshots } : {}),
        roles: WARM_ROLES,
        discovery: { seedHosts: props.seedHosts },
      }),
    );
    new k8s.KubeConfigMap(this, 'Config', { metadata: { name: configMap, labels: this.labels }, data: files });
    // Governs the StatefulSet (stable pod names); the nodes find the cluster through the hot nodes' Service.
    new k8s.KubeService(this, 'HeadlessService', {
      metadata: { name: headlessName, labels: this.labels },
      spec: {
        clusterIp: 'None',
        publishNotReadyAddresses: true,
        selector: this.selector,
        ports: [{ name: 'transport', port: TRANSPORT, targetPort: k8s.IntOrString.fromString('transport') }],
      },
    });
    nodeStatefulSet(this, 'Resource', {
      name: this.name,
      labels: this.labels,
      selector: this.selector,
      replicas: warm.replicas,
      serviceName: headlessName,
      image: `${props.image.repository}:${props.image.tag}`,
      uid,
      resources: warm.resources,
      heapMiB: heapMiB(warm.resources.limits.memory, settings.heapPercent),
      storage: warm.storage,
      configMap,
      files,
      podBasics: {
        serviceAccountName: props.hot.name,
        automountServiceAccountToken: false,
        securityContext: podSecurityContext(uid),
        ...(warm.replicas > 1 ? { affinity: spreadAffinity(this.selector) } : {}),
      },
      elasticPassword: settings.users.elastic,
      transportTls: props.transportTls,
      ...(settings.snapshots ? { snapshots: settings.snapshots } : {}),
    });
    if (warm.replicas > 1) addDisruptionBudget(this, this.name, this.labels, this.selector);
    const nodes = [{ pods: props.hot.selector }, { pods: this.selector }];
    this.ingress.push({ peers: nodes, ports: [{ port: TRANSPORT }] });
    this.egress.push({ peers: nodes, ports: [{ port: TRANSPORT }] });
    // A warm node writes the snapshot files of the shards it holds.
    if (settings.snapshots) this.egress.push({ peers: [{ cidr: '0.0.0.0/0' }], ports: [{ port: repositoryPort(settings.snapshots) }] });
    this.addNetworkPolicy();
  }

  /** The warm nodes are scraped through the exporter, like the hot ones. */
  get scrapeEndpoints(): readonly ScrapeEndpoint[] {
    return [];
  }
}
