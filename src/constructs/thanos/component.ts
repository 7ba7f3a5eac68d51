import { k8s } from 'cdk8s-plus-27';
import type { Image, Resources } from '../../config/index.js';
import { IMAGE_UIDS } from '../../config/index.js';
import { addDisruptionBudget } from '../common/availability.js';
import { StackComponent } from '../common/component.js';
import { containerSecurityContext, httpProbe, resourceRequirements } from '../common/security.js';
import { THANOS_PORTS, thanosContainerPorts, thanosServicePorts } from './common.js';

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

  /** The headless Service of a StatefulSet component: its pods' DNS names and the SRV records Query discovers them by. */
  protected get headless(): string {
    return `${this.name}-headless`;
  }

  /**
   * The headless Service and the StatefulSet of a component that keeps data
   * (Store Gateway, Compactor, Ruler), and a PodDisruptionBudget once it has
   * more than one replica.
   */
  protected addStatefulSet(spec: {
    readonly replicas: number;
    /** Whether the pods serve the StoreAPI (a `grpc` port on the Service). */
    readonly grpc: boolean;
    /** Start and stop the replicas together rather than one by one (they share no state). @default false */
    readonly parallel?: boolean;
    readonly claims: readonly k8s.KubePersistentVolumeClaimProps[];
    readonly containers: k8s.Container[];
    readonly volumes: k8s.Volume[];
  }): void {
    new k8s.KubeService(this, 'HeadlessService', {
      metadata: { name: this.headless, labels: this.labels },
      spec: { clusterIp: 'None', selector: this.selector, ports: thanosServicePorts(spec.grpc) },
    });
    new k8s.KubeStatefulSet(this, 'Resource', {
      metadata: { name: this.name, labels: this.labels },
      spec: {
        serviceName: this.headless,
        replicas: spec.replicas,
        ...(spec.parallel ? { podManagementPolicy: 'Parallel' } : {}),
        selector: { matchLabels: this.selector },
        ...(spec.claims.length > 0 ? { volumeClaimTemplates: [...spec.claims] } : {}),
        template: {
          metadata: { labels: this.labels },
          spec: { ...this.podBasics(this.uid, spec.replicas), containers: spec.containers, volumes: spec.volumes },
        },
      },
    });
    if (spec.replicas > 1) addDisruptionBudget(this, this.name, this.labels, this.selector);
  }

  /** The /tmp every Thanos container mounts over its read-only root. */
  protected static readonly tmpVolume: k8s.Volume = { name: 'tmp', emptyDir: { sizeLimit: k8s.Quantity.fromString('64Mi') } };
}
