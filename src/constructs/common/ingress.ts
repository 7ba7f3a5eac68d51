import { k8s } from 'cdk8s-plus-27';
import type { Construct } from 'constructs';
import type { Ingress } from '../../config/index.js';
import type { Peer } from './network.js';

/**
 * Exposes a component's Service outside the cluster. Only called when the
 * environment asks for it. Returns the peer (the ingress controller's pods)
 * that the component's NetworkPolicy must let in.
 */
export function addIngress(
  scope: Construct,
  props: { readonly name: string; readonly labels: Record<string, string>; readonly ingress: Ingress; readonly servicePort: number },
): Peer {
  const { ingress } = props;
  if (!ingress.host) throw new Error(`ingress of ${props.name} needs a host`);
  new k8s.KubeIngress(scope, 'Ingress', {
    metadata: { name: props.name, labels: props.labels },
    spec: {
      ...(ingress.className ? { ingressClassName: ingress.className } : {}),
      ...(ingress.tlsSecret ? { tls: [{ hosts: [ingress.host], secretName: ingress.tlsSecret }] } : {}),
      rules: [
        {
          host: ingress.host,
          http: {
            paths: [
              {
                path: '/',
                pathType: 'Prefix',
                backend: { service: { name: props.name, port: { number: props.servicePort } } },
              },
            ],
          },
        },
      ],
    },
  });
  return { namespace: ingress.controllerNamespace };
}

/** The URL people open a component at through its ingress, or undefined without one. */
export function ingressUrl(ingress: Ingress): string | undefined {
  return ingress.enabled && ingress.host ? `${ingress.tlsSecret ? 'https' : 'http'}://${ingress.host}` : undefined;
}
