import { createHash } from 'node:crypto';

/**
 * A short digest of configuration text. On a pod template it rolls the pods
 * when the text changes: for programs that read their configuration at start
 * only (Grafana's datasources, the logs and traces components). Prometheus
 * and Alertmanager reload instead, through a sidecar (config-reloader.ts).
 */
export function checksum(...parts: readonly string[]): string {
  const h = createHash('sha256');
  for (const p of parts) h.update(p).update('\0');
  return h.digest('hex').slice(0, 16);
}
