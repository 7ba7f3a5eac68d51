import { createHash } from 'node:crypto';

/**
 * A short digest of configuration text. On a pod template it rolls the pods
 * when the text changes: only for what a program reads at start alone
 * (Grafana's datasources); what can be reloaded goes through a config-reloader
 * sidecar instead (see config-reloader.ts).
 */
export function checksum(...parts: readonly string[]): string {
  const h = createHash('sha256');
  for (const p of parts) h.update(p).update('\0');
  return h.digest('hex').slice(0, 16);
}
