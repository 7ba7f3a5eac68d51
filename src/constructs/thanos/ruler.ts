import { Lazy } from 'cdk8s';
import { k8s } from 'cdk8s-plus-27';
import type { Construct } from 'constructs';
import type { Image, SecretRef, ThanosConfig } from '../../config/index.js';
import { yamlText } from '../../config/yaml-text.js';
import { configReloaderContainer } from '../common/config-reloader.js';
import { dataVolume } from '../common/storage.js';
import type { ScrapeEndpoint } from '../prometheus/scrape.js';
import { THANOS_PORTS, grpcSrv, listenArgs, objstoreVolume } from './common.js';
import { ThanosComponent } from './component.js';
import { OBJECT_STORAGE_FLOW } from './store-gateway.js';
import type { ThanosQuery } from './query.js';

const RULES_DIR = '/etc/thanos/rules';
const RELABEL_DIR = '/etc/thanos/alert-relabel';

export interface ThanosRulerProps {
  readonly namespace: string;
  readonly instance: string;
  readonly image: Image;
  readonly settings: ThanosConfig['ruler'];
  /** The Query it evaluates against. */
  readonly query: ThanosQuery;
  /** The ConfigMap of rule files it evaluates: Prometheus's, so both read the same rules. */
  readonly ruleConfigMap: string;
  /** Where it uploads its own blocks (the series its recording rules write). @default - kept on its disk only */
  readonly objectStorage?: SecretRef;
  /** Labels of every series and alert it writes, as Prometheus's external labels. @default - none */
  readonly externalLabels?: Readonly<Record<string, string>>;
  /** The label that tells Ruler replicas apart, dropped from alerts so Alertmanager merges them. @default 'prometheus_replica' */
  readonly replicaLabel?: string;
  /** @default 'cluster.local' */
  readonly clusterDomain?: string;
  /** The config-reloader sidecar's image. @default IMAGES.configReloader */
  readonly reloaderImage?: Image;
}

/**
 * Thanos Ruler: evaluates the stack's rule files against Query, so rules see
 * every shard's series rather than one shard's slice, and sends its alerts to
 * Alertmanager. A StatefulSet: its TSDB keeps recording-rule results and
 * alert state; it serves them to Query over the StoreAPI.
 */
export class ThanosRuler extends ThanosComponent {
  private readonly clusterDomain: string;
  private readonly alertmanagerUrls: string[] = [];
  private readonly alertRelabel: (() => readonly Record<string, unknown>[])[] = [];

  constructor(scope: Construct, id: string, props: ThanosRulerProps) {
    super(scope, id, {
      name: 'thanos-rule',
      namespace: props.namespace,
      instance: props.instance,
      version: props.image.tag,
      component: 'ruler',
      ports: [{ port: THANOS_PORTS.grpc }],
    });
    this.clusterDomain = props.clusterDomain ?? 'cluster.local';
    const { replicas } = props.settings;
    const replicaLabel = props.replicaLabel ?? 'prometheus_replica';
    const objstore = props.objectStorage ? objstoreVolume(props.objectStorage) : undefined;
    const data = dataVolume('data', props.settings.storage, this.labels);
    const labels = Object.entries({ ...(props.externalLabels ?? {}), [replicaLabel]: '$(POD_NAME)' }).map(([k, v]) => `--label=${k}=${JSON.stringify(v)}`);

    this.addServiceAccount();
    new k8s.KubeConfigMap(this, 'AlertRelabel', {
      metadata: { name: `${this.name}-alert-relabel`, labels: this.labels },
      data: { 'relabel.yaml': Lazy.any({ produce: () => yamlText(this.alertRelabel.flatMap((f) => f())) }) },
    });
    this.addStatefulSet({
      replicas,
      grpc: true,
      parallel: true,
      claims: data.claims,
      containers: [
        this.thanosContainer({
          image: props.image,
          resources: props.settings.resources,
          grpc: true,
          env: [{ name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } }],
          args: Lazy.any({
            produce: () => [
              'rule',
              ...listenArgs(true),
              '--data-dir=/data',
              `--rule-file=${RULES_DIR}/*.yaml`,
              `--eval-interval=${props.settings.evaluationInterval}`,
              `--query=${props.query.httpSrv}`,
              ...this.alertmanagerUrls.map((u) => `--alertmanagers.url=${u}`),
              // Kubernetes puts the pod's name in $(POD_NAME): each replica writes its own stream of blocks.
              ...labels,
              `--alert.label-drop=${replicaLabel}`,
              // The same relabeling as Prometheus's alerts (the team label the routing tree reads).
              `--alert.relabel-config-file=${RELABEL_DIR}/relabel.yaml`,
              `--alert.query-url=${props.query.externalUrl}`,
              ...(objstore ? [objstore.arg] : []),
            ],
          }),
          volumeMounts: [
            { name: 'data', mountPath: '/data' },
            { name: 'rules', mountPath: RULES_DIR, readOnly: true },
            { name: 'alert-relabel', mountPath: RELABEL_DIR, readOnly: true },
            ...(objstore ? [objstore.mount] : []),
          ],
        }),
        configReloaderContainer({
          reloadUrl: `http://127.0.0.1:${THANOS_PORTS.http}/-/reload`,
          watch: [{ volume: 'rules', mountPath: RULES_DIR }],
          ...(props.reloaderImage ? { image: props.reloaderImage } : {}),
        }),
      ],
      volumes: [
        { name: 'rules', configMap: { name: props.ruleConfigMap } },
        { name: 'alert-relabel', configMap: { name: `${this.name}-alert-relabel` } },
        ...data.volumes,
        ...(objstore ? [objstore.volume] : []),
        ThanosComponent.tmpVolume,
      ],
    });
    props.query.allowFrom(this, [{ port: THANOS_PORTS.http }]);
    this.egress.push({ peers: [{ pods: props.query.selector }], ports: [{ port: THANOS_PORTS.http }] });
    if (objstore) this.egress.push(OBJECT_STORAGE_FLOW);
    this.addNetworkPolicy();
  }

  /**
   * Sends alerts to every Alertmanager replica, as Prometheus does, relabelled
   * as Prometheus relabels its own (read when the manifests are written).
   */
  alertTo(alertmanager: {
    readonly peerAddresses: readonly string[];
    readonly selector: Record<string, string>;
    readonly port: number;
    allowFrom(pods: { readonly selector: Record<string, string> }): void;
  }, alertRelabelConfigs: () => readonly Record<string, unknown>[] = () => []): void {
    this.alertmanagerUrls.push(...alertmanager.peerAddresses.map((a) => `http://${a}`));
    this.alertRelabel.push(alertRelabelConfigs);
    alertmanager.allowFrom(this);
    this.egress.push({ peers: [{ pods: alertmanager.selector }], ports: [{ port: alertmanager.port }] });
  }

  /** Query's endpoint for every Ruler pod (recording-rule series and alerts). */
  get endpoint(): string {
    return grpcSrv(this.headless, this.namespace, this.clusterDomain);
  }

  get scrapeEndpoints(): readonly ScrapeEndpoint[] {
    return [{ jobName: 'thanos-rule', namespace: this.namespace, serviceName: this.headless, portName: 'http' }];
  }
}
