import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { parse, parseAllDocuments, stringify } from 'yaml';
import { writeOfflinePrometheus } from '../test/support/offline-prometheus.js';
import type { NotificationSink } from './sink.js';

type Json = Record<string, unknown>;

/** A target in a file-SD file with the `__meta_kubernetes_*` labels Kubernetes discovery would have set. */
export interface DiscoveredTarget {
  readonly targets: readonly string[];
  readonly labels: Readonly<Record<string, string>>;
}

/** An endpoint of a Service, as role: endpoints discovers it. */
export function endpointTarget(address: string, namespace: string, service: string, port: string, pod: string): DiscoveredTarget {
  return {
    targets: [address],
    labels: {
      __meta_kubernetes_namespace: namespace,
      __meta_kubernetes_service_name: service,
      __meta_kubernetes_endpoint_port_name: port,
      __meta_kubernetes_pod_name: pod,
      __meta_kubernetes_pod_node_name: 'e2e-node',
    },
  };
}

/** A pod annotated `prometheus.io/scrape: "true"`, as role: pod discovers it. */
export function annotatedPodTarget(host: string, port: number, namespace: string, pod: string, app: string): DiscoveredTarget {
  return {
    targets: [`${host}:${port}`],
    labels: {
      __meta_kubernetes_namespace: namespace,
      __meta_kubernetes_pod_name: pod,
      __meta_kubernetes_pod_phase: 'Running',
      __meta_kubernetes_pod_node_name: 'e2e-node',
      __meta_kubernetes_pod_label_app_kubernetes_io_name: app,
      __meta_kubernetes_pod_annotation_prometheus_io_scrape: 'true',
      __meta_kubernetes_pod_annotation_prometheus_io_port: String(port),
      __meta_kubernetes_pod_annotation_prometheus_io_path: '/metrics',
    },
  };
}

/**
 * The synthesized prometheus.yml made runnable here: Kubernetes discovery
 * becomes file SD fed `targets(job)` (toOfflineConfig), and the Alertmanager
 * address, a cluster DNS name, becomes the local Alertmanager. Nothing else
 * changes: scrape jobs, relabelling, rule files and alert relabelling are the
 * synthesized ones.
 */
export function localPrometheusConfig(files: ReadonlyMap<string, string>, root: string, alertmanager: string, targets: (job: string) => readonly DiscoveredTarget[]): { configFile: string; changes: string[] } {
  const offline = writeOfflinePrometheus(files, root, targets);
  if (offline.findings.length > 0) throw new Error(`the offline Prometheus configuration has findings:\n  ${offline.findings.map((f) => f.message).join('\n  ')}`);
  const config = parse(files.get('prometheus.yml') ?? '') as Json;
  const local = parse(readFileSync(offline.configFile, 'utf8')) as Json;
  const changes: string[] = [];
  const managers = ((local['alerting'] as Json | undefined)?.['alertmanagers'] ?? []) as Json[];
  for (const m of managers) {
    for (const sc of (m['static_configs'] ?? []) as Json[]) {
      changes.push(`alertmanager ${(sc['targets'] as string[]).join(', ')} → ${alertmanager}`);
      sc['targets'] = [alertmanager];
    }
  }
  if (managers.length === 0 || !(config['alerting'] as Json | undefined)) throw new Error('the synthesized prometheus.yml sends alerts nowhere: no alerting.alertmanagers');
  writeFileSync(offline.configFile, stringify(local));
  return { configFile: offline.configFile, changes };
}

/** Where the history webhook goes and the key it authenticates with. */
export interface HistoryTarget {
  readonly base: string;
  readonly key: string;
}

/**
 * The synthesized alertmanager.yml made deliverable here. Only where
 * notifications go changes: every secret file under /etc/alertmanager/secrets
 * becomes a file of `dir` (Slack URLs pointing at the sink, per receiver),
 * PagerDuty's API URL is the sink's, webhooks go to the sink except the
 * alert history, which goes to the real ingest service, and each e-mail
 * receiver's smarthost is an SMTP listener of the sink. Template files are
 * copied next to the configuration.
 */
export async function localAlertmanagerConfig(files: ReadonlyMap<string, string>, dir: string, sink: NotificationSink, history: HistoryTarget): Promise<{ configFile: string; receivers: string[] }> {
  mkdirSync(dir, { recursive: true });
  const config = parse(files.get('alertmanager.yml') ?? '') as Json;
  let n = 0;
  const secret = (receiver: string, what: string, content: string): string => {
    const path = join(dir, 'secrets', `${receiver}-${what}-${n++}`);
    mkdirSync(join(dir, 'secrets'), { recursive: true });
    writeFileSync(path, content);
    return path;
  };
  const receivers: string[] = [];
  for (const r of (config['receivers'] ?? []) as Json[]) {
    const name = String(r['name']);
    receivers.push(name);
    for (const c of (r['pagerduty_configs'] ?? []) as Json[]) {
      if (c['routing_key_file']) c['routing_key_file'] = secret(name, 'pagerduty-key', 'e2e0routing0key0000000000000000');
      if (c['service_key_file']) c['service_key_file'] = secret(name, 'pagerduty-key', 'e2e0service0key0000000000000000');
      c['url'] = `${sink.base}/pagerduty/${encodeURIComponent(name)}`;
    }
    for (const c of (r['slack_configs'] ?? []) as Json[]) {
      delete c['api_url'];
      c['api_url_file'] = secret(name, 'slack-url', `${sink.base}/slack/${encodeURIComponent(name)}`);
    }
    for (const c of (r['webhook_configs'] ?? []) as Json[]) {
      const url = String(c['url'] ?? '');
      const isHistory = new URL(url).pathname === '/api/v1/alerts/webhook';
      c['url'] = isHistory ? `${history.base}/api/v1/alerts/webhook` : `${sink.base}/webhook/${encodeURIComponent(name)}`;
      const auth = (c['http_config'] as Json | undefined)?.['authorization'] as Json | undefined;
      if (auth?.['credentials_file']) auth['credentials_file'] = secret(name, 'token', isHistory ? history.key : 'e2e-webhook-token');
    }
    for (const c of (r['email_configs'] ?? []) as Json[]) {
      c['smarthost'] = await sink.smtpFor(name);
      if (c['auth_password_file']) c['auth_password_file'] = secret(name, 'smtp-password', 'e2e-password');
    }
  }
  const templates = (config['templates'] ?? []) as string[];
  config['templates'] = templates.map((t) => {
    const name = basename(t);
    const text = [...files.entries()].find(([path]) => basename(path) === name)?.[1] ?? mountedFile(files, name);
    if (text === undefined) throw new Error(`alertmanager.yml names the template ${t}, but the synth wrote no file ${name} and no Secret or ConfigMap holds it`);
    const local = join(dir, name);
    writeFileSync(local, text);
    return local;
  });
  const configFile = join(dir, 'alertmanager.yml');
  writeFileSync(configFile, stringify(config));
  return { configFile, receivers };
}

/** A key of a Secret or ConfigMap of the manifests (what the pod would mount), when the raw files do not hold it. */
function mountedFile(files: ReadonlyMap<string, string>, key: string): string | undefined {
  for (const [path, text] of files) {
    if (!path.endsWith('.k8s.yaml')) continue;
    for (const doc of parseAllDocuments(text)) {
      const o = doc.toJS() as Json | null;
      if (!o || (o['kind'] !== 'Secret' && o['kind'] !== 'ConfigMap')) continue;
      const plain = ((o['stringData'] ?? (o['kind'] === 'ConfigMap' ? o['data'] : undefined)) ?? {}) as Record<string, string>;
      if (plain[key] !== undefined) return plain[key];
      const encoded = (o['kind'] === 'Secret' ? (o['data'] ?? {}) : {}) as Record<string, string>;
      if (encoded[key] !== undefined) return Buffer.from(encoded[key], 'base64').toString('utf8');
    }
  }
  return undefined;
}
