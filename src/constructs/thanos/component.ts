import { k8s } from 'cdk8s-plus-27';
import type { Image, Resources } from '../../config/index.js';
import { IMAGE_UIDS } from '../../config/index.js';
import { StackComponent } from '../common/component.js';
import { containerSecurityContext, httpProbe, resourceRequirements } from '../common/security.js';
import { THANOS_PORTS, thanosContainerPorts } from './common.js';

/** The labels, ServiceAccount and NetworkPolicy of a Thanos component, and the container every one of them runs. */
export abstract class ThanosComponent extends StackComponent {
  readonly port = THANOS_PORTS.http;
  protected readonly uid = IMAGE_UIDS.thanos;

  /** The hardened `thanos` container: the subcommand's args, named ports, probes on the HTTP port, a writable /tmp. */
  protected thanosContainer(spec: {
    readonly image: Image;
    readonly resources: Resources;
    readonly args: readonly string[] | string[];
    readonly grpc: boolean;
    readonly volumeMounts?: readonly k8s.VolumeMount[];
    readonly env?: readonly k8s.EnvVar[];
    /** Seconds the pod may take to become ready (the Store Gateway syncs the bucket's index headers first). @default 600 */
    readonly readyWithinSeconds?: number;
  }): k8s.Container {
    return {
      name: 'thanos',
      image: `${spec.image.repository}:${spec.image.tag}`,
      args: spec.args as string[],
      ...(spec.env ? { env: [...spec.env] } : {}),
      ports: thanosContainerPorts(spec.grpc),
      resources: resourceRequirements(spec.resources),
      securityContext: containerSecurityContext(this.uid),
      livenessProbe: httpProbe('/-/healthy', 'http', { initialDelaySeconds: 10 }),
      readinessProbe: httpProbe('/-/ready', 'http', { initialDelaySeconds: 5, periodSeconds: 5, failureThreshold: Math.ceil((spec.readyWithinSeconds ?? 600) / 5) }),
      volumeMounts: [...(spec.volumeMounts ?? []), { name: 'tmp', mountPath: '/tmp' }],
    };
  }

  /** The /tmp every Thanos container mounts over its read-only root. */
  protected static readonly tmpVolume: k8s.Volume = { name: 'tmp', emptyDir: { sizeLimit: k8s.Quantity.fromString('64Mi') } };
}
