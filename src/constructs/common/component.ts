import { k8s } from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import type { ScrapeEndpoint, ScrapeTarget } from '../prometheus/scrape.js';
import { type ComponentIdentity, labelsFor, selectorFor } from './labels.js';
import { spreadAffinity } from './availability.js';
import { type Flow, type PortSpec, addNetworkPolicy } from './network.js';
import type { Image, Resources } from '../../config/index.js';
import { DNS_LABEL } from '../../config/primitives.js';
import { containerSecurityContext, httpProbe, podSecurityContext, resourceRequirements } from './security.js';

/** Refuses an exporter's own name that cannot end its object names (`<kind>-exporter-<name>`) and job. */
export function assertExporterName(name: string): void {
  if (!DNS_LABEL.test(name) || name.length > 40) throw new Error(`name must be a DNS label of at most 40 characters, got "${name}"`);
}

/** One exporter's container and what its pod needs beside it (see StackComponent.addExporter). */
export interface ExporterSpec {
  readonly port: number;
  /** The port's name in the container and the Service. @default 'metrics' */
  readonly portName?: string;
  /** @default 'exporter' */
  readonly containerName?: string;
  readonly uid: number;
  readonly image: Image;
  readonly resources: Resources;
  readonly args?: readonly string[];
  readonly env?: readonly k8s.EnvVar[];
  /** Liveness and readiness: a path that answers without reaching what the exporter watches. */
  readonly healthPath: string;
  readonly readinessDelaySeconds: number;
  readonly volumeMounts?: readonly k8s.VolumeMount[];
  readonly volumes?: readonly k8s.Volume[];
  readonly podAnnotations?: Readonly<Record<string, string>>;
}

export interface ComponentProps {
  /** `app.kubernetes.io/name` and the name of the component's main objects. */
  readonly name: string;
  readonly namespace: string;
  /** The environment: `app.kubernetes.io/instance`. */
  readonly instance: string;
  /** The image tag: `app.kubernetes.io/version`. */
  readonly version: string;
  /** `app.kubernetes.io/component`. */
  readonly component: string;
  /** Ports other components may be allowed to reach with `allowFrom`. */
  readonly ports: readonly PortSpec[];
}

/**
 * What every component of the stack shares: its labels computed once, its
 * ServiceAccount, and a NetworkPolicy whose ingress grows as other
 * components are wired to it (`allowFrom`).
 */
export abstract class StackComponent extends Construct implements ScrapeTarget {
  readonly name: string;
  readonly namespace: string;
  readonly identity: ComponentIdentity;
  readonly labels: Record<string, string>;
  readonly selector: Record<string, string>;
  protected readonly ingress: Flow[] = [];
  protected readonly egress: Flow[] = [];
  private readonly ports: readonly PortSpec[];

  constructor(scope: Construct, id: string, props: ComponentProps) {
    super(scope, id);
    this.name = props.name;
    this.namespace = props.namespace;
    this.ports = props.ports;
    this.identity = { name: props.name, instance: props.instance, version: props.version, component: props.component };
    this.labels = labelsFor(this.identity);
    this.selector = selectorFor(this.identity);
  }

  abstract get scrapeEndpoints(): readonly ScrapeEndpoint[];

  /** Lets the pods of another component reach this one's ports. */
  allowFrom(pods: { readonly selector: Record<string, string> }, ports: readonly PortSpec[] = this.ports): void {
    this.ingress.push({ peers: [{ pods: pods.selector }], ports });
  }

  /** A ServiceAccount that mounts no token unless the pod asks for one explicitly. */
  protected addServiceAccount(): k8s.KubeServiceAccount {
    return new k8s.KubeServiceAccount(this, 'ServiceAccount', {
      metadata: { name: this.name, labels: this.labels },
      automountServiceAccountToken: false,
    });
  }

  /**
   * The pod fields every component shares: its own ServiceAccount with no
   * token mounted, a numeric non-root user, and spread over nodes when replicated.
   */
  protected podBasics(uid: number, replicas = 1): Pick<k8s.PodSpec, 'serviceAccountName' | 'automountServiceAccountToken' | 'securityContext' | 'affinity'> {
    return {
      serviceAccountName: this.name,
      automountServiceAccountToken: false,
      securityContext: podSecurityContext(uid),
      ...(replicas > 1 ? { affinity: spreadAffinity(this.selector) } : {}),
    };
  }

  /**
   * The Service and the one-replica Deployment of an exporter: one hardened
   * container listening on a named port, probed on a path that does not reach
   * what it watches. Call addServiceAccount first.
   */
  protected addExporter(spec: ExporterSpec): void {
    const portName = spec.portName ?? 'metrics';
    new k8s.KubeService(this, 'Service', {
      metadata: { name: this.name, labels: this.labels },
      spec: { type: 'ClusterIP', selector: this.selector, ports: [{ name: portName, port: spec.port, targetPort: k8s.IntOrString.fromString(portName) }] },
    });
    new k8s.KubeDeployment(this, 'Resource', {
      metadata: { name: this.name, labels: this.labels },
      spec: {
        replicas: 1,
        selector: { matchLabels: this.selector },
        template: {
          metadata: { labels: this.labels, ...(spec.podAnnotations ? { annotations: { ...spec.podAnnotations } } : {}) },
          spec: {
            ...this.podBasics(spec.uid),
            containers: [
              {
                name: spec.containerName ?? 'exporter',
                image: `${spec.image.repository}:${spec.image.tag}`,
                ...(spec.args ? { args: [...spec.args] } : {}),
                ...(spec.env ? { env: [...spec.env] } : {}),
                ports: [{ name: portName, containerPort: spec.port }],
                resources: resourceRequirements(spec.resources),
                securityContext: containerSecurityContext(spec.uid),
                livenessProbe: httpProbe(spec.healthPath, portName),
                readinessProbe: httpProbe(spec.healthPath, portName, { initialDelaySeconds: spec.readinessDelaySeconds }),
                ...(spec.volumeMounts ? { volumeMounts: [...spec.volumeMounts] } : {}),
              },
            ],
            ...(spec.volumes ? { volumes: [...spec.volumes] } : {}),
          },
        },
      },
    });
  }

  /** The component's NetworkPolicy: DNS and `egress` out, `ingress` in, read at synth time. */
  protected addNetworkPolicy(): k8s.KubeNetworkPolicy {
    return addNetworkPolicy(this, {
      name: this.name,
      labels: this.labels,
      selector: this.selector,
      ingress: this.ingress,
      egress: this.egress,
    });
  }
}
