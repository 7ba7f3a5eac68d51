import type { Construct } from 'constructs';
import type { Image, SecretRef, ThanosConfig } from '../../config/index.js';
import { dataVolume } from '../common/storage.js';
import type { ScrapeEndpoint } from '../prometheus/scrape.js';
import { THANOS_PORTS, listenArgs, objstoreVolume } from './common.js';
import { ThanosComponent } from './component.js';
import { OBJECT_STORAGE_FLOW } from './store-gateway.js';

export interface ThanosCompactorProps {
  readonly namespace: string;
  readonly instance: string;
  readonly image: Image;
  readonly settings: ThanosConfig['compactor'];
  readonly objectStorage: SecretRef;
  /** The external label that tells HA replicas apart, whose blocks are merged into one stream. @default 'prometheus_replica' */
  readonly replicaLabel?: string;
}

/**
 * The Compactor: compacts the bucket's 2-hour blocks into larger ones,
 * downsamples them to 5m and 1h, and deletes what is past each resolution's
 * retention. Always one replica: object storage offers no lock, and two
 * compactors working on one stream of blocks produce overlapping blocks that
 * halt compaction until someone repairs the bucket by hand. It needs no high
 * availability either: a compactor down for hours only delays compaction.
 */
export class ThanosCompactor extends ThanosComponent {

  constructor(scope: Construct, id: string, props: ThanosCompactorProps) {
    super(scope, id, {
      name: 'thanos-compact',
      namespace: props.namespace,
      instance: props.instance,
      version: props.image.tag,
      component: 'compactor',
      ports: [{ port: THANOS_PORTS.http }],
    });
    const { retention } = props.settings;
    const objstore = objstoreVolume(props.objectStorage);
    const data = dataVolume('data', props.settings.storage, this.labels);

    this.addServiceAccount();
    this.addStatefulSet({
      replicas: 1,
      grpc: false,
      claims: data.claims,
      containers: [
        this.thanosContainer({
          image: props.image,
          resources: props.settings.resources,
          grpc: false,
          args: [
            'compact',
            // Keep running and look for new blocks every 5 minutes, rather than exit after one pass.
            '--wait',
            '--wait-interval=5m',
            ...listenArgs(false),
            '--data-dir=/data',
            objstore.arg,
            // Downsampling is on (no --downsampling.disable): Query reads 5m and 1h blocks for long ranges.
            `--retention.resolution-raw=${retention.raw}`,
            `--retention.resolution-5m=${retention.fiveMinutes}`,
            `--retention.resolution-1h=${retention.oneHour}`,
            // On request only: HA replicas' blocks merged into one stream (vertical compaction), with the
            // algorithm meant for Prometheus replicas, whose samples never share timestamps. Irreversible in the bucket.
            ...(props.settings.deduplicateReplicas
              ? [`--deduplication.replica-label=${props.replicaLabel ?? 'prometheus_replica'}`, '--deduplication.func=penalty']
              : []),
          ],
          volumeMounts: [{ name: 'data', mountPath: '/data' }, objstore.mount],
        }),
      ],
      volumes: [...data.volumes, objstore.volume, ThanosComponent.tmpVolume],
    });
    this.egress.push(OBJECT_STORAGE_FLOW);
    this.addNetworkPolicy();
  }

  get scrapeEndpoints(): readonly ScrapeEndpoint[] {
    return [{ jobName: 'thanos-compact', namespace: this.namespace, serviceName: this.headless, portName: 'http' }];
  }
}
