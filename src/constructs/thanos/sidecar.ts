import type { k8s } from 'cdk8s-plus-27';
import type { Image, Resources, SecretRef } from '../../config/index.js';
import { IMAGE_UIDS } from '../../config/index.js';
import { containerSecurityContext, httpProbe, resourceRequirements } from '../common/security.js';
import type { PrometheusPodExtension } from '../prometheus/prometheus.js';
import type { ScrapeEndpoint } from '../prometheus/scrape.js';
import { THANOS_PORTS, type StoreApi, grpcSrv, listenArgs, objstoreVolume, thanosContainerPorts, thanosServicePorts } from './common.js';

export interface ThanosSidecarProps {
  readonly image: Image;
  readonly resources: Resources;
  /** The Secret key holding the bucket's objstore YAML. */
  readonly objectStorage: SecretRef;
  /** Prometheus's port in the pod. @default 9090 */
  readonly prometheusPort?: number;
  /** The pod volume holding Prometheus's TSDB, and where it is mounted. @default { volume: 'data', path: '/prometheus' } */
  readonly tsdb?: { readonly volume: string; readonly path: string };
}

/**
 * Prometheus's flags beside the sidecar: equal minimum and maximum block
 * durations switch local compaction off, so the sidecar uploads every 2-hour
 * block as written and only the Compactor ever rewrites blocks in the bucket
 * (two compactors of one block stream corrupt it).
 */
export const SIDECAR_PROMETHEUS_ARGS: readonly string[] = ['--storage.tsdb.min-block-duration=2h', '--storage.tsdb.max-block-duration=2h'];

/** The Thanos sidecar container alone (see `thanosSidecar`). */
export function thanosSidecarContainer(props: ThanosSidecarProps): k8s.Container {
  const tsdb = props.tsdb ?? { volume: 'data', path: '/prometheus' };
  const objstore = objstoreVolume(props.objectStorage);
  // Prometheus's user, not the image's 1001: the sidecar writes its upload state (thanos.shipper.json) into Prometheus's data folder.
  const uid = IMAGE_UIDS.prometheus;
  return {
    name: 'thanos-sidecar',
    image: `${props.image.repository}:${props.image.tag}`,
    args: [
      'sidecar',
      `--tsdb.path=${tsdb.path}`,
      // Inside the pod: the sidecar reads Prometheus's external labels and serves its data from there.
      `--prometheus.url=http://127.0.0.1:${props.prometheusPort ?? 9090}`,
      objstore.arg,
      ...listenArgs(true),
    ],
    ports: thanosContainerPorts(true),
    resources: resourceRequirements(props.resources),
    securityContext: containerSecurityContext(uid),
    livenessProbe: httpProbe('/-/healthy', 'http', { initialDelaySeconds: 10 }),
    // Ready once Prometheus answers and its external labels are known; Prometheus's WAL replay can take minutes.
    readinessProbe: httpProbe('/-/ready', 'http', { initialDelaySeconds: 5, periodSeconds: 5, failureThreshold: 120 }),
    volumeMounts: [{ name: tsdb.volume, mountPath: tsdb.path }, objstore.mount],
  };
}

/**
 * What the Thanos sidecar adds to every Prometheus pod (`prometheus.extendPod`):
 * the container that serves Prometheus's data over the StoreAPI (gRPC 10901)
 * and uploads each finished 2-hour block to the bucket, the bucket's Secret
 * as a volume, Prometheus's block-duration flags, and the `grpc` and `http`
 * ports on the headless Service (Query's SRV discovery, the scrape job).
 */
export function thanosSidecar(props: ThanosSidecarProps): PrometheusPodExtension {
  return {
    containers: [thanosSidecarContainer(props)],
    volumes: [objstoreVolume(props.objectStorage).volume],
    args: SIDECAR_PROMETHEUS_ARGS,
    servicePorts: thanosServicePorts(true),
  };
}

/** The sidecars of every Prometheus pod, as Query reads them and Prometheus scrapes them. */
export class ThanosSidecars implements StoreApi {
  readonly selector: Record<string, string>;
  readonly endpoint: string;
  private readonly prometheus: SidecarHost;

  constructor(prometheus: SidecarHost, opts: { readonly clusterDomain?: string } = {}) {
    this.prometheus = prometheus;
    this.selector = prometheus.selector;
    this.endpoint = grpcSrv(prometheus.headlessServiceName, prometheus.namespace, opts.clusterDomain ?? 'cluster.local');
  }

  allowFrom(pods: { readonly selector: Record<string, string> }, ports: readonly { port: number }[] = [{ port: THANOS_PORTS.grpc }]): void {
    this.prometheus.allowFrom(pods, ports);
  }

  get scrapeEndpoints(): readonly ScrapeEndpoint[] {
    return [{ jobName: 'thanos-sidecar', namespace: this.prometheus.namespace, serviceName: this.prometheus.headlessServiceName, portName: 'http' }];
  }
}

/** What the sidecars need of the Prometheus they run beside. */
export interface SidecarHost {
  readonly namespace: string;
  readonly headlessServiceName: string;
  readonly selector: Record<string, string>;
  allowFrom(pods: { readonly selector: Record<string, string> }, ports?: readonly { port: number }[]): void;
}
