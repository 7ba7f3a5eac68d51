import type { Construct } from 'constructs';
import type { Image, SecretRef, ThanosConfig } from '../../config/index.js';
import type { Flow } from '../common/network.js';
import { dataVolume } from '../common/storage.js';
import type { ScrapeEndpoint } from '../prometheus/scrape.js';
import { THANOS_PORTS, grpcSrv, listenArgs, objstoreVolume } from './common.js';
import { ThanosComponent } from './component.js';

/** HTTPS to the bucket: object storage lives outside the cluster, at addresses no policy can list in advance. */
export const OBJECT_STORAGE_FLOW: Flow = { peers: [{ cidr: '0.0.0.0/0' }], ports: [{ port: 443 }] };

export interface ThanosStoreGatewayProps {
  readonly namespace: string;
  readonly instance: string;
  readonly image: Image;
  readonly settings: ThanosConfig['storeGateway'];
  readonly objectStorage: SecretRef;
  /** @default 'cluster.local' */
  readonly clusterDomain?: string;
}

/**
 * The Store Gateway: the StoreAPI over the blocks in the bucket, the history
 * older than what the sidecars' Prometheus keeps. A StatefulSet: its disk
 * caches index headers, which are rebuilt from the bucket when lost.
 */
export class ThanosStoreGateway extends ThanosComponent {
  private readonly clusterDomain: string;

  constructor(scope: Construct, id: string, props: ThanosStoreGatewayProps) {
    super(scope, id, {
      name: 'thanos-store',
      namespace: props.namespace,
      instance: props.instance,
      version: props.image.tag,
      component: 'store-gateway',
      ports: [{ port: THANOS_PORTS.grpc }],
    });
    this.clusterDomain = props.clusterDomain ?? 'cluster.local';
    const { replicas } = props.settings;
    const objstore = objstoreVolume(props.objectStorage);
    const data = dataVolume('data', props.settings.storage, this.labels);

    this.addServiceAccount();
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
          // Ready once the index headers of every block are synced: minutes on a large bucket.
          readyWithinSeconds: 1800,
          args: ['store', ...listenArgs(true), '--data-dir=/data', objstore.arg],
          volumeMounts: [{ name: 'data', mountPath: '/data' }, objstore.mount],
        }),
      ],
      volumes: [...data.volumes, objstore.volume, ThanosComponent.tmpVolume],
    });
    this.egress.push(OBJECT_STORAGE_FLOW);
    this.addNetworkPolicy();
  }

  /** Query's endpoint for every Store Gateway pod. */
  get endpoint(): string {
    return grpcSrv(this.headless, this.namespace, this.clusterDomain);
  }

  get scrapeEndpoints(): readonly ScrapeEndpoint[] {
    return [{ jobName: 'thanos-store', namespace: this.namespace, serviceName: this.headless, portName: 'http' }];
  }
}
