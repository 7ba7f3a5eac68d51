import { Lazy } from 'cdk8s';
import { k8s } from 'cdk8s-plus-27';
import type { Construct } from 'constructs';

export interface PortSpec {
  readonly port: number;
  readonly protocol?: 'TCP' | 'UDP';
}

/** A set of pods a flow comes from or goes to. */
export type Peer =
  | { readonly pods: Record<string, string> }
  | { readonly namespace: string; readonly pods?: Record<string, string> }
  | { readonly anyNamespace: true }
  | { readonly cidr: string };

export interface Flow {
  readonly peers: readonly Peer[];
  readonly ports?: readonly PortSpec[];
}

/** Whatever lets a pod resolve names: kube-dns / CoreDNS in kube-system. */
export const DNS_FLOW: Flow = {
  peers: [{ namespace: 'kube-system', pods: { 'k8s-app': 'kube-dns' } }],
  ports: [{ port: 53, protocol: 'UDP' }, { port: 53, protocol: 'TCP' }],
};

/**
 * The Kubernetes API server. Its address is not a pod and differs per cluster,
 * so the flow is limited by port only.
 */
export const API_SERVER_FLOW: Flow = {
  peers: [{ cidr: '0.0.0.0/0' }],
  ports: [{ port: 443 }, { port: 6443 }],
};

function toPeer(p: Peer): k8s.NetworkPolicyPeer {
  if ('cidr' in p) return { ipBlock: { cidr: p.cidr } };
  if ('anyNamespace' in p) return { namespaceSelector: {} };
  if ('namespace' in p) {
    return {
      namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': p.namespace } },
      ...(p.pods ? { podSelector: { matchLabels: p.pods } } : {}),
    };
  }
  return { podSelector: { matchLabels: p.pods } };
}

function toPorts(ports: readonly PortSpec[] | undefined): k8s.NetworkPolicyPort[] | undefined {
  return ports?.map((p) => ({ port: k8s.IntOrString.fromNumber(p.port), protocol: p.protocol ?? 'TCP' }));
}

/**
 * A NetworkPolicy that allows only the listed flows in and out of the selected
 * pods (and DNS out). The flow arrays are read at synth time, so components
 * wired later (`allowFrom`) are included.
 */
export function addNetworkPolicy(
  scope: Construct,
  props: {
    readonly name: string;
    readonly labels: Record<string, string>;
    readonly selector: Record<string, string>;
    readonly ingress: readonly Flow[];
    readonly egress: readonly Flow[];
  },
): k8s.KubeNetworkPolicy {
  return new k8s.KubeNetworkPolicy(scope, 'NetworkPolicy', {
    metadata: { name: props.name, labels: props.labels },
    spec: {
      podSelector: { matchLabels: props.selector },
      policyTypes: ['Ingress', 'Egress'],
      ingress: Lazy.any({
        produce: () =>
          props.ingress.map((f) => {
            const ports = toPorts(f.ports);
            return { from: f.peers.map(toPeer), ...(ports ? { ports } : {}) };
          }),
      }),
      egress: Lazy.any({
        produce: () =>
          [DNS_FLOW, ...props.egress].map((f) => {
            const ports = toPorts(f.ports);
            return { to: f.peers.map(toPeer), ...(ports ? { ports } : {}) };
          }),
      }),
    },
  });
}
