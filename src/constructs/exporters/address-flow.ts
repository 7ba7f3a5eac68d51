import { addressPlacement } from '../../config/index.js';
import type { Flow } from '../common/network.js';

/**
 * The NetworkPolicy flow to one host and port, and nothing wider: an IP gets
 * its own address, a Service of the cluster its namespace, and a host outside
 * the cluster the address blocks the environment declares for it (the schema
 * requires them).
 */
export function flowTo(
  target: { readonly host: string; readonly port: number; readonly ip: 0 | 4 | 6 },
  where: { readonly namespace: string; readonly clusterDomain: string },
  blocks: readonly string[] = [],
): Flow {
  const placement = addressPlacement(target.host, target.ip, where.namespace, where.clusterDomain);
  const ports = [{ port: target.port }];
  if ('ip' in placement) return { peers: [{ cidr: `${target.host}/${placement.ip === 4 ? 32 : 128}` }], ports };
  if ('namespace' in placement) return { peers: [{ namespace: placement.namespace }], ports };
  if (blocks.length === 0) throw new Error(`"${target.host}" is outside the cluster: its address blocks are needed for the NetworkPolicy`);
  return { peers: blocks.map((cidr) => ({ cidr })), ports };
}
