import { k8s } from 'cdk8s-plus-27';
import type { Construct } from 'constructs';
import type { Image, ProbesConfig } from '../../config/index.js';
import { IMAGE_UIDS, parseTarget, urlAddress } from '../../config/index.js';
import { checksum } from '../common/checksum.js';
import { StackComponent } from '../common/component.js';
import type { Flow } from '../common/network.js';
import type { ScrapeEndpoint } from '../prometheus/scrape.js';
import { yamlText } from '../../config/yaml-text.js';
import { flowTo } from './address-flow.js';

export interface BlackboxExporterProps {
  readonly namespace: string;
  readonly instance: string;
  readonly settings: ProbesConfig;
  readonly image: Image;
  /** @default 'cluster.local' */
  readonly clusterDomain?: string;
}

const PORT = 9115;
const CONFIG_DIR = '/etc/blackbox-exporter';

/** The probe modules, by name: what each probe job asks the exporter for. */
export const PROBE_MODULES = {
  http: 'http_2xx',
  tcp: 'tcp_connect',
  tls: 'tls_expiry',
} as const;

/**
 * blackbox.yml. IPv4 first: cluster Services have IPv4 addresses, and the
 * default (IPv6, then IPv4) spends part of the timeout on a failed attempt.
 */
export function blackboxConfig(): Record<string, unknown> {
  return {
    modules: {
      [PROBE_MODULES.http]: {
        prober: 'http',
        timeout: '5s',
        http: { preferred_ip_protocol: 'ip4', follow_redirects: true },
      },
      [PROBE_MODULES.tcp]: { prober: 'tcp', timeout: '5s', tcp: { preferred_ip_protocol: 'ip4' } },
      // A TLS handshake that verifies the chain; probe_ssl_earliest_cert_expiry says when the first certificate of it expires.
      [PROBE_MODULES.tls]: { prober: 'tcp', timeout: '5s', tcp: { preferred_ip_protocol: 'ip4', tls: true } },
    },
  };
}

type Job = Record<string, unknown>;
type Relabel = Record<string, unknown>;

const copy = (source: string, target: string): Relabel => ({ source_labels: [source], target_label: target });
const SERVICE_META = '__meta_kubernetes_service';
const annotation = (name: string): string => `${SERVICE_META}_annotation_prometheus_io_${name.replace(/-/g, '_')}`;

/**
 * The blackbox exporter: probes the applications' liveness and readiness
 * endpoints, and the URLs, TCP ports and TLS certificates the environment
 * lists, for Prometheus to scrape as `/probe?module=…&target=…`. It reaches
 * whatever it probes and nothing else; only Prometheus reaches it.
 */
export class BlackboxExporter extends StackComponent {
  readonly port = PORT;
  private readonly settings: ProbesConfig;
  private readonly clusterDomain: string;

  constructor(scope: Construct, id: string, props: BlackboxExporterProps) {
    super(scope, id, {
      name: 'blackbox-exporter',
      namespace: props.namespace,
      instance: props.instance,
      version: props.image.tag,
      component: 'probes',
      ports: [{ port: PORT }],
    });
    this.settings = props.settings;
    this.clusterDomain = props.clusterDomain ?? 'cluster.local';
    const uid = IMAGE_UIDS.blackboxExporter;
    const config = yamlText(blackboxConfig());

    this.addServiceAccount();
    new k8s.KubeConfigMap(this, 'Config', { metadata: { name: this.name, labels: this.labels }, data: { 'blackbox.yml': config } });
    this.addExporter({
      port: PORT,
      portName: 'http',
      containerName: 'blackbox-exporter',
      uid,
      image: props.image,
      resources: props.settings.resources,
      args: [`--config.file=${CONFIG_DIR}/blackbox.yml`, `--web.listen-address=:${PORT}`, '--log.format=json'],
      // No ICMP module, so no NET_RAW: every capability stays dropped.
      healthPath: '/-/healthy',
      readinessDelaySeconds: 3,
      volumeMounts: [{ name: 'config', mountPath: CONFIG_DIR, readOnly: true }],
      volumes: [{ name: 'config', configMap: { name: this.name } }],
      // It reads its modules at start only: a changed configuration rolls the pod.
      podAnnotations: { 'checksum/config': checksum(config) },
    });
    this.egress.push(...this.probeFlows());
    this.addNetworkPolicy();
  }

  /** The exporter's own metrics (`blackbox_exporter_*`, its config reloads). */
  get scrapeEndpoints(): readonly ScrapeEndpoint[] {
    return [{ jobName: 'blackbox-exporter', namespace: this.namespace, serviceName: this.name, portName: 'http' }];
  }

  /** `host:port` of the exporter's Service, where every probe job sends its scrapes. */
  get address(): string {
    return `${this.name}.${this.namespace}.svc.${this.clusterDomain}:${PORT}`;
  }

  /**
   * The probe jobs: `probe-liveness` and `probe-readiness` for the
   * applications (annotated Services and declared URLs), `probe-http`,
   * `probe-tcp` and `probe-tls` for what the environment lists. A job with
   * nothing to probe is left out.
   */
  get probeJobs(): readonly Job[] {
    const s = this.settings;
    const h = s.health;
    const jobs: Job[] = [];
    for (const [job, path] of [['probe-liveness', h.livenessPath], ['probe-readiness', h.readinessPath]] as const) {
      if (!h.annotated && h.services.length === 0) break;
      jobs.push(this.healthJob(job, path));
    }
    // One static_config per target: each carries the `service` its alerts are about.
    const staticJob = (job: string, module: string, targets: ReadonlyArray<{ target: string; host: string; service?: string | undefined }>): void => {
      if (targets.length === 0) return;
      jobs.push({
        job_name: job,
        metrics_path: '/probe',
        params: { module: [module] },
        static_configs: targets.map((t) => ({ targets: [t.target], labels: { service: t.service ?? t.host } })),
        relabel_configs: [copy('__address__', '__param_target'), copy('__param_target', 'instance'), { target_label: '__address__', replacement: this.address }],
      });
    };
    staticJob('probe-http', PROBE_MODULES.http, s.http.map((p) => ({ target: p.url, host: urlAddress(p.url).host, service: p.service })));
    const byAddress = (p: { address: string; service?: string | undefined }) => ({ target: p.address, host: parseTarget(p.address)?.host ?? p.address, service: p.service });
    staticJob('probe-tcp', PROBE_MODULES.tcp, s.tcp.map(byAddress));
    staticJob('probe-tls', PROBE_MODULES.tls, s.tls.map(byAddress));
    return jobs;
  }

  /**
   * One health endpoint of every application. Declared services are static
   * targets whose address is already the URL; annotated Services come from
   * discovery, one target per port (only the port `prometheus.io/probe-port`
   * names, when it names one), and their URL is built from the Service's
   * address, `prometheus.io/probe-scheme` (default http) and the path.
   */
  private healthJob(job: string, path: string): Job {
    const h = this.settings.health;
    const urlOf = (base: string): string => `${base.replace(/\/+$/, '')}${path}`;
    const relabel: Relabel[] = [
      // Annotated Services, or a declared URL (its address has a scheme; a discovered one is host:port).
      { source_labels: [annotation('probe'), '__address__'], regex: 'true;.*|;https?://.*', action: 'keep' },
      { source_labels: [`${SERVICE_META}_port_name`], target_label: '__tmp_probe_port' },
      { source_labels: [annotation('probe-port')], regex: '(.+)', target_label: '__tmp_probe_port' },
      { source_labels: [`${SERVICE_META}_port_name`], target_label: '__tmp_probe_port', action: 'keepequal' },
      { target_label: '__tmp_probe_scheme', replacement: 'http' },
      { source_labels: [annotation('probe-scheme')], regex: '(https?)', target_label: '__tmp_probe_scheme' },
      { source_labels: ['__tmp_probe_scheme', '__address__'], regex: '(https?);([^/]+)', replacement: `$1://$2${path}`, target_label: '__param_target' },
      { source_labels: ['__address__'], regex: '(https?://.+)', target_label: '__param_target' },
      copy('__param_target', 'instance'),
      { source_labels: ['__meta_kubernetes_namespace'], regex: '(.+)', target_label: 'namespace' },
      { source_labels: [`${SERVICE_META}_name`], regex: '(.+)', target_label: 'service' },
      { target_label: '__address__', replacement: this.address },
    ];
    return {
      job_name: job,
      metrics_path: '/probe',
      params: { module: [PROBE_MODULES.http] },
      ...(h.services.length > 0 ? { static_configs: h.services.map((svc) => ({ targets: [urlOf(svc.url)], labels: { service: svc.service } })) } : {}),
      ...(h.annotated ? { kubernetes_sd_configs: [{ role: 'service' }] } : {}),
      relabel_configs: relabel,
    };
  }

  /** Annotated Services live in any namespace on any port; each declared target gets its own flow, once. */
  private probeFlows(): Flow[] {
    const s = this.settings;
    const where = { namespace: this.namespace, clusterDomain: this.clusterDomain };
    const flows: Flow[] = [];
    if (s.health.annotated) flows.push({ peers: [{ anyNamespace: true }] });
    for (const svc of s.health.services) flows.push(flowTo(urlAddress(svc.url), where, svc.egress));
    for (const p of s.http) flows.push(flowTo(urlAddress(p.url), where, p.egress));
    for (const p of [...s.tcp, ...s.tls]) {
      const a = parseTarget(p.address);
      if (a) flows.push(flowTo(a, where, p.egress));
    }
    // A URL and a certificate of one host need one flow.
    return [...new Map(flows.map((f) => [JSON.stringify(f), f])).values()];
  }
}
