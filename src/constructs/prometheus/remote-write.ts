import type { RemoteWriteEndpoint, SecretRef } from '../../config/index.js';
import { clusterNamespaceOf, urlAddress } from '../../config/index.js';
import type { Flow } from '../common/network.js';

/** The Secret keys remote write reads (token, password, CA), mounted with the scrape jobs' ones. */
export function remoteWriteSecrets(endpoints: readonly RemoteWriteEndpoint[]): SecretRef[] {
  return endpoints.flatMap((e) => [
    ...(e.bearerToken ? [e.bearerToken] : []),
    ...(e.basicAuth ? [e.basicAuth.password] : []),
    ...(e.tls?.ca ? [e.tls.ca] : []),
  ]);
}

/**
 * One NetworkPolicy flow per store, to its URL's port only: an IP address, an
 * in-cluster Service's namespace, or the address blocks the environment lists
 * for a host outside the cluster (the schema asks for them).
 */
export function remoteWriteEgress(endpoints: readonly RemoteWriteEndpoint[], ctx: { readonly namespace: string; readonly clusterDomain: string }): Flow[] {
  return endpoints.map((e) => {
    const a = urlAddress(e.url);
    const ports = [{ port: a.port }];
    if (a.ip !== 0) return { peers: [{ cidr: `${a.host}/${a.ip === 4 ? 32 : 128}` }], ports };
    const namespace = clusterNamespaceOf(a.host, ctx.namespace, ctx.clusterDomain);
    if (namespace !== undefined) return { peers: [{ namespace }], ports };
    // An empty list of peers would allow every address.
    if (!e.egress || e.egress.length === 0) throw new Error(`remote write "${e.name}": egress must list the address blocks of ${a.host}`);
    return { peers: e.egress.map((cidr) => ({ cidr })), ports };
  });
}
