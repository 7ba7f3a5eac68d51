import { parse, stringify } from 'yaml';
import type { Finding } from './finding.js';

/**
 * Debian's Prometheus and promtool are built without Kubernetes service
 * discovery (the package drops the Kubernetes client library), so they refuse
 * `kubernetes_sd_configs` as an unknown field. To still run the real promtool
 * on everything else, the checking copy replaces each Kubernetes SD block by a
 * file SD block and points in-pod paths at a local folder. The Kubernetes SD
 * blocks themselves are checked here against the fields upstream accepts.
 */
export interface OfflineConfig {
  readonly text: string;
  /** Files promtool stats (service-account token, CA) that must exist under `root`. */
  readonly placeholderFiles: readonly string[];
  readonly findings: readonly Finding[];
}

const SD_ROLES = ['node', 'service', 'pod', 'endpoints', 'endpointslice', 'ingress'] as const;
const SD_FIELDS = new Set([
  'role', 'namespaces', 'selectors', 'api_server', 'kubeconfig_file', 'attach_metadata',
  'basic_auth', 'authorization', 'oauth2', 'tls_config', 'proxy_url', 'follow_redirects', 'enable_http2',
]);
const NAMESPACE_FIELDS = new Set(['names', 'own_namespace']);
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

function checkKubernetesSd(job: string, sd: unknown, index: number): Finding[] {
  const object = `prometheus.yml/scrape_configs/${job}`;
  const path = `kubernetes_sd_configs[${index}]`;
  if (typeof sd !== 'object' || sd === null) return [{ check: 'kubernetes-sd', object, path, message: 'must be a mapping' }];
  const findings: Finding[] = [];
  const block = sd as Record<string, unknown>;
  for (const key of Object.keys(block)) {
    if (!SD_FIELDS.has(key)) findings.push({ check: 'kubernetes-sd', object, path: `${path}.${key}`, message: `unknown field "${key}"` });
  }
  if (!SD_ROLES.includes(block.role as (typeof SD_ROLES)[number])) {
    findings.push({ check: 'kubernetes-sd', object, path: `${path}.role`, message: `must be one of ${SD_ROLES.join(', ')}, got ${JSON.stringify(block.role)}` });
  }
  if (block.namespaces !== undefined) {
    const ns = block.namespaces as Record<string, unknown>;
    for (const key of Object.keys(ns)) {
      if (!NAMESPACE_FIELDS.has(key)) findings.push({ check: 'kubernetes-sd', object, path: `${path}.namespaces.${key}`, message: `unknown field "${key}"` });
    }
    const names = ns.names;
    if (names !== undefined && (!Array.isArray(names) || names.some((n) => typeof n !== 'string' || !DNS_LABEL.test(n)))) {
      findings.push({ check: 'kubernetes-sd', object, path: `${path}.namespaces.names`, message: 'must be a list of namespace names' });
    }
  }
  return findings;
}

/** Rewrites a prometheus.yml for the local promtool: Kubernetes SD → file SD, in-pod paths → `root`. */
export function toOfflineConfig(configText: string, root: string, podPaths: Readonly<Record<string, string>>): OfflineConfig {
  const config = parse(configText) as Record<string, unknown>;
  const findings: Finding[] = [];
  const jobs = (config.scrape_configs ?? []) as Record<string, unknown>[];
  for (const job of jobs) {
    const sds = job.kubernetes_sd_configs;
    if (sds === undefined) continue;
    if (!Array.isArray(sds)) {
      findings.push({ check: 'kubernetes-sd', object: `prometheus.yml/scrape_configs/${String(job.job_name)}`, message: 'kubernetes_sd_configs must be a list' });
      continue;
    }
    sds.forEach((sd, i) => findings.push(...checkKubernetesSd(String(job.job_name), sd, i)));
    delete job.kubernetes_sd_configs;
    job.file_sd_configs = [{ files: [`${root}/targets/${String(job.job_name)}.json`] }];
  }
  let text = stringify(config, { lineWidth: 0 });
  const placeholders: string[] = [];
  for (const [podPath, localPath] of Object.entries(podPaths)) {
    if (text.includes(podPath)) {
      text = text.split(podPath).join(localPath);
      placeholders.push(localPath);
    }
  }
  return { text, placeholderFiles: placeholders, findings };
}
