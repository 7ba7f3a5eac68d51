import { k8s } from 'cdk8s-plus-27';
import type { SecretRef } from '../../config/index.js';

/** The ports every Thanos component listens on: gRPC (StoreAPI) and HTTP (API, UI, /metrics, probes). */
export const THANOS_PORTS = { grpc: 10901, http: 10902 } as const;

/** Where the bucket's configuration is mounted in every component that reads the bucket. */
export const OBJSTORE_DIR = '/etc/thanos/objstore';
export const OBJSTORE_FILE = `${OBJSTORE_DIR}/objstore.yml`;
const OBJSTORE_VOLUME = 'thanos-objstore';

/** The bucket's configuration: the one Secret key mounted as a file, so credentials never reach an argument or the manifests. */
export function objstoreVolume(ref: SecretRef): { volume: k8s.Volume; mount: k8s.VolumeMount; arg: string } {
  return {
    volume: { name: OBJSTORE_VOLUME, secret: { secretName: ref.secretName, items: [{ key: ref.key, path: 'objstore.yml' }] } },
    mount: { name: OBJSTORE_VOLUME, mountPath: OBJSTORE_DIR, readOnly: true },
    arg: `--objstore.config-file=${OBJSTORE_FILE}`,
  };
}

/** The named container ports of a Thanos component. */
export function thanosContainerPorts(grpc: boolean): k8s.ContainerPort[] {
  return [...(grpc ? [{ name: 'grpc', containerPort: THANOS_PORTS.grpc }] : []), { name: 'http', containerPort: THANOS_PORTS.http }];
}

/** The listen flags: every component serves HTTP; those with a StoreAPI serve gRPC too. */
export function listenArgs(grpc: boolean): string[] {
  return [...(grpc ? [`--grpc-address=0.0.0.0:${THANOS_PORTS.grpc}`] : []), `--http-address=0.0.0.0:${THANOS_PORTS.http}`, '--log.format=json'];
}

/** Service ports by name: `grpc` makes the `_grpc._tcp` SRV record Query discovers StoreAPIs by. */
export function thanosServicePorts(grpc: boolean): k8s.ServicePort[] {
  return [
    ...(grpc ? [{ name: 'grpc', port: THANOS_PORTS.grpc, targetPort: k8s.IntOrString.fromString('grpc') }] : []),
    { name: 'http', port: THANOS_PORTS.http, targetPort: k8s.IntOrString.fromString('http') },
  ];
}

/** A StoreAPI Query fans out to, as its `--endpoint` flag reads it. */
export interface StoreApi {
  /** `dnssrv+_grpc._tcp.<headless service>` or `host:port`. */
  readonly endpoint: string;
  /** The pods behind it, for the NetworkPolicy flows (absent for another cluster's). */
  readonly selector?: Record<string, string>;
  /** Lets Query's pods reach the StoreAPI's gRPC port. */
  allowFrom?(pods: { readonly selector: Record<string, string> }, ports?: readonly { port: number }[]): void;
}

/** The SRV name of a headless Service's `grpc` port: Query resolves it to every pod behind the Service. */
export function grpcSrv(service: string, namespace: string, clusterDomain: string): string {
  return `dnssrv+_grpc._tcp.${service}.${namespace}.svc.${clusterDomain}`;
}
