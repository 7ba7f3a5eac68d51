import { Lazy } from 'cdk8s';
import { k8s } from 'cdk8s-plus-27';
import type { Construct } from 'constructs';
import type { Image, ThanosConfig, ThanosStore } from '../../config/index.js';
import { clusterNamespaceOf } from '../../config/index.js';
import { addDisruptionBudget } from '../common/availability.js';
import { addIngress, ingressUrl } from '../common/ingress.js';
import type { ScrapeEndpoint } from '../prometheus/scrape.js';
import { THANOS_PORTS, type StoreApi, listenArgs, thanosServicePorts } from './common.js';
import { ThanosComponent } from './component.js';

export interface ThanosQueryProps {
  readonly namespace: string;
  readonly instance: string;
  readonly image: Image;
  readonly settings: ThanosConfig['query'];
  /** @default 'cluster.local' */
  readonly clusterDomain?: string;
  /** External labels that tell HA replicas apart; their series are merged into one. @default ['prometheus_replica'] */
  readonly replicaLabels?: readonly string[];
}

/**
 * Thanos Query: the Prometheus HTTP API over every StoreAPI it is given
 * (`addStore`), deduplicating the series of HA replicas by their replica
 * label. Stateless, so a Deployment; replicated with a PodDisruptionBudget
 * and spread over nodes and zones.
 */
export class ThanosQuery extends ThanosComponent {
  private readonly clusterDomain: string;
  private readonly settings: ThanosConfig['query'];
  private readonly endpoints: string[] = [];

  constructor(scope: Construct, id: string, props: ThanosQueryProps) {
    super(scope, id, {
      name: 'thanos-query',
      namespace: props.namespace,
      instance: props.instance,
      version: props.image.tag,
      component: 'query',
      ports: [{ port: THANOS_PORTS.http }],
    });
    this.clusterDomain = props.clusterDomain ?? 'cluster.local';
    this.settings = props.settings;
    const { replicas } = props.settings;
    const replicaLabels = props.replicaLabels ?? ['prometheus_replica'];
    if (replicaLabels.length === 0) throw new Error('replicaLabels must name at least one label, or HA replicas would show twice');

    this.addServiceAccount();
    new k8s.KubeService(this, 'Service', {
      metadata: { name: this.name, labels: this.labels },
      spec: { type: 'ClusterIP', selector: this.selector, ports: thanosServicePorts(true) },
    });
    new k8s.KubeDeployment(this, 'Resource', {
      metadata: { name: this.name, labels: this.labels },
      spec: {
        replicas,
        selector: { matchLabels: this.selector },
        template: {
          metadata: { labels: this.labels },
          spec: {
            ...this.podBasics(this.uid, replicas),
            containers: [
              this.thanosContainer({
                image: props.image,
                resources: props.settings.resources,
                grpc: true,
                readyWithinSeconds: 120,
                args: Lazy.any({
                  produce: () => [
                    'query',
                    ...listenArgs(true),
                    ...replicaLabels.map((l) => `--query.replica-label=${l}`),
                    // Long ranges read the bucket's 5m and 1h downsampled blocks (step / 5) instead of every raw sample.
                    '--query.auto-downsampling',
                    ...this.endpoints.map((e) => `--endpoint=${e}`),
                  ],
                }),
              }),
            ],
            volumes: [ThanosComponent.tmpVolume],
          },
        },
      },
    });
    if (replicas > 1) addDisruptionBudget(this, this.name, this.labels, this.selector);
    if (props.settings.ingress.enabled) {
      const controller = addIngress(this, { name: this.name, labels: this.labels, ingress: props.settings.ingress, servicePort: THANOS_PORTS.http });
      this.ingress.push({ peers: [controller], ports: [{ port: THANOS_PORTS.http }] });
    }
    this.addNetworkPolicy();
  }

  /** Reads a StoreAPI of this stack (sidecars, Store Gateway, Ruler) and opens the gRPC path to it. */
  addStore(store: StoreApi): void {
    this.endpoints.push(store.endpoint);
    if (store.selector) {
      store.allowFrom?.(this, [{ port: THANOS_PORTS.grpc }]);
      this.egress.push({ peers: [{ pods: store.selector }], ports: [{ port: THANOS_PORTS.grpc }] });
    }
  }

  /** Reads another cluster's StoreAPI (its Query or sidecars) for the global view, with the egress its address needs. */
  addRemoteStore(store: ThanosStore): void {
    const sep = store.address.lastIndexOf(':');
    const host = store.address.slice(0, sep);
    const port = Number(store.address.slice(sep + 1));
    this.endpoints.push(store.address);
    const ns = store.egress ? undefined : clusterNamespaceOf(host, this.namespace, this.clusterDomain);
    if (ns !== undefined) this.egress.push({ peers: [{ namespace: ns }], ports: [{ port }] });
    else if (store.egress) this.egress.push({ peers: store.egress.map((cidr) => ({ cidr })), ports: [{ port }] });
    else throw new Error(`store "${store.address}" is outside the cluster: it needs egress address blocks`);
  }

  /** The StoreAPI addresses Query reads, as its --endpoint flags. */
  get storeEndpoints(): readonly string[] {
    return this.endpoints;
  }

  /** The in-cluster URL of the Prometheus-compatible API: what Grafana and the Ruler query. */
  get url(): string {
    return `http://${this.name}.${this.namespace}.svc.${this.clusterDomain}:${THANOS_PORTS.http}`;
  }

  /** Where people open Query: its ingress, else the in-cluster Service. */
  get externalUrl(): string {
    return ingressUrl(this.settings.ingress) ?? this.url;
  }

  /** The SRV name of the HTTP port, as the Ruler's --query flag reads it. */
  get httpSrv(): string {
    return `dnssrv+_http._tcp.${this.name}.${this.namespace}.svc.${this.clusterDomain}`;
  }

  get scrapeEndpoints(): readonly ScrapeEndpoint[] {
    return [{ jobName: 'thanos-query', namespace: this.namespace, serviceName: this.name, portName: 'http' }];
  }
}
