import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { ConfigError, STACK_JOB_NAMES, type ConfigIssue } from '../../src/config/index.js';
import { RULES_DIR, SERVICE_ACCOUNT_DIR } from '../../src/constructs/index.js';
import { SCRAPE_SECRETS_DIR } from '../../src/constructs/prometheus/declared-jobs.js';
import { checkWithTools } from '../../src/cli/check.js';
import { checkSecurityPolicy, promtoolCheckConfig, toOfflineConfig, validateKubernetesSchema } from '../../src/validate/index.js';
import { type Json, RECEIVERS_INPUT, environment, find, synth } from './helpers.js';

const selector = { matchLabels: { 'app.kubernetes.io/name': 'web' } };

/** The issues an environment with this `scrape` section is refused with. */
function refusal(input: Record<string, unknown>): ConfigIssue[] {
  try {
    environment(input);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return [...(e as ConfigError).issues];
  }
  throw new Error('the environment was accepted');
}

const SCRAPE = {
  static: [
    {
      job: 'edge-routers',
      targets: ['10.20.0.5:9100', '[2001:db8::7]:9100', 'pgbouncer.data.svc:9127', 'metrics.example.net:9200'],
      labels: { team: 'network', site: 'ams' },
      interval: '1m',
      timeout: '20s',
      basicAuth: { username: 'prometheus', password: { secretName: 'edge-scrape', key: 'password' } },
      tls: { ca: { secretName: 'edge-scrape', key: 'ca.crt' }, serverName: 'edge.example.net' },
      scheme: 'https',
      path: '/probe/metrics',
    },
  ],
  serviceMonitors: [
    {
      name: 'checkout',
      namespaces: ['shop', 'shop-canary'],
      selector: { matchLabels: { 'app.kubernetes.io/name': 'checkout' }, matchExpressions: [{ key: 'tier', operator: 'NotIn', values: ['batch'] }] },
      endpoints: [
        {
          port: 'http-metrics',
          path: '/internal/metrics',
          scrapeTimeout: '5s',
          relabelings: [{ source_labels: ['__meta_kubernetes_pod_label_version'], target_label: 'version' }],
          metricRelabelings: [{ source_labels: ['__name__'], regex: 'go_gc_.*', action: 'drop' }],
        },
      ],
    },
  ],
  podMonitors: [{ name: 'workers', selector: { matchLabels: { app: 'worker' } }, podMetricsEndpoints: [{ targetPort: 9400 }] }],
  additionalScrapeConfigs: [{ job_name: 'blackbox', metrics_path: '/probe', params: { module: ['http_2xx'] }, static_configs: [{ targets: ['203.0.113.80:9115'] }] }],
  egress: [{ cidr: '198.51.100.0/24', ports: [9200] }, { cidr: '203.0.113.80/32', ports: [9115] }],
};

describe('scrape: the refusals', () => {
  it('refuses a job name declared twice, naming both places', () => {
    const issues = refusal({
      scrape: {
        static: [{ job: 'edge', targets: ['10.0.0.1:9100'] }],
        additionalScrapeConfigs: [{ job_name: 'edge', static_configs: [{ targets: ['10.0.0.2:9100'] }] }],
      },
    });
    expect(issues).toContainEqual({
      path: 'scrape.additionalScrapeConfigs[0].job_name',
      message: 'job name "edge" is also declared by scrape.static[0].job; job names must be unique',
      found: 'edge',
    });
  });

  it("refuses a job name of the stack's own, even of a component that is off", () => {
    const issues = refusal({ scrape: { static: [{ job: 'jaeger-query', targets: ['10.0.0.1:9100'] }] } });
    expect(issues).toContainEqual(expect.objectContaining({ path: 'scrape.static[0].job', message: 'job name "jaeger-query" is already a job of the stack; choose another' }));
  });

  it('refuses a monitor whose job name collides with a raw scrape_config', () => {
    const issues = refusal({
      scrape: {
        serviceMonitors: [{ name: 'web', selector, endpoints: [{ port: 'metrics' }] }],
        additionalScrapeConfigs: [{ job_name: 'serviceMonitor/web/0' }],
      },
    });
    expect(issues).toContainEqual(expect.objectContaining({ path: 'scrape.additionalScrapeConfigs[0].job_name', message: expect.stringContaining('also declared by scrape.serviceMonitors[0].name') }));
  });

  it('refuses a raw scrape_config without a job_name', () => {
    const issues = refusal({ scrape: { additionalScrapeConfigs: [{ static_configs: [] }] } });
    expect(issues).toContainEqual(expect.objectContaining({ path: 'scrape.additionalScrapeConfigs[0].job_name', message: 'is required: every scrape_config needs a job_name' }));
  });

  it('refuses a target that is not host:port', () => {
    for (const bad of ['10.0.0.1', 'http://10.0.0.1:9100', 'host:99999', '2001:db8::1:9100', 'Bad_Host:80']) {
      const issues = refusal({ scrape: { static: [{ job: 'x', targets: [bad] }] } });
      expect(issues, bad).toContainEqual({ path: 'scrape.static[0].targets[0]', message: 'must be "host:port" (an IPv6 address in brackets)', found: bad });
    }
  });

  it('refuses a password or CA written inline', () => {
    const issues = refusal({ scrape: { static: [{ job: 'x', targets: ['10.0.0.1:443'], basicAuth: { username: 'u', password: 'hunter2' } }] } });
    expect(issues).toContainEqual(expect.objectContaining({
      path: 'scrape.static[0].basicAuth.password',
      message: 'must be a reference to a Kubernetes Secret ({ secretName, key }); credentials are never written inline',
    }));
    const tls = refusal({ scrape: { serviceMonitors: [{ name: 'w', selector, endpoints: [{ port: 'm', tls: { ca: '-----BEGIN CERTIFICATE-----' } }] }] } });
    expect(tls).toContainEqual(expect.objectContaining({ path: 'scrape.serviceMonitors[0].endpoints[0].tls.ca', message: expect.stringContaining('never written inline') }));
  });

  it('refuses a host outside the cluster until its addresses are declared', () => {
    const issues = refusal({ scrape: { static: [{ job: 'x', targets: ['db.example.com:9187'] }] } });
    expect(issues).toContainEqual(expect.objectContaining({ path: 'scrape.static[0].targets[0]', message: expect.stringMatching(/^"db.example.com:9187" is a host outside the cluster .* scrape.egress .*ports: \[9187\]/) }));
    expect(() => environment({ scrape: { static: [{ job: 'x', targets: ['db.example.com:9187'] }], egress: [{ cidr: '192.0.2.0/24', ports: [9187] }] } })).not.toThrow();
  });

  it('refuses a timeout longer than the interval, the environment\'s by default', () => {
    const issues = refusal({ scrape: { static: [{ job: 'x', targets: ['10.0.0.1:9100'], timeout: '45s' }] } });
    expect(issues).toContainEqual(expect.objectContaining({ path: 'scrape.static[0].timeout', message: "must not be longer than the interval (30s, the environment's scrape interval); Prometheus refuses it" }));
  });

  it('refuses a monitor that selects everything, or names both port and targetPort', () => {
    const issues = refusal({
      scrape: {
        serviceMonitors: [{ name: 'all', selector: {}, endpoints: [{ port: 'm', targetPort: 9000 }] }],
        podMonitors: [{ name: 'p', selector: { matchExpressions: [{ key: 'app', operator: 'In' }] }, podMetricsEndpoints: [{ port: 'm' }] }],
      },
    });
    expect(issues).toContainEqual(expect.objectContaining({ path: 'scrape.serviceMonitors[0].selector', message: expect.stringContaining('must select something') }));
    expect(issues).toContainEqual(expect.objectContaining({ path: 'scrape.serviceMonitors[0].endpoints[0]', message: 'must name exactly one of port and targetPort' }));
    expect(issues).toContainEqual(expect.objectContaining({ path: 'scrape.podMonitors[0].selector.matchExpressions[0].values', message: 'must list at least one value for operator In' }));
  });

  it('refuses a relabeling that is not in Prometheus form', () => {
    const issues = refusal({ scrape: { serviceMonitors: [{ name: 'w', selector, endpoints: [{ port: 'm', relabelings: [{ sourceLabels: ['a'], action: 'keep' }] }] }] } });
    expect(issues).toContainEqual(expect.objectContaining({ path: expect.stringMatching(/^scrape\.serviceMonitors\[0\]\.endpoints\[0\]\.relabelings\[0\]/), message: expect.stringMatching(/^unknown field "sourceLabels"/) }));
  });
});

describe('scrape: the jobs in prometheus.yml', () => {
  const env = environment({ scrape: SCRAPE });
  const result = synth(env);
  const text = result.files.get('prometheus.yml') ?? '';
  const jobs: Json[] = parse(text).scrape_configs;
  const job = (name: string): Json => {
    const j = jobs.find((x) => x.job_name === name);
    if (!j) throw new Error(`no job ${name} among ${jobs.map((x) => x.job_name).join(', ')}`);
    return j;
  };

  it('emits a static job with its targets, labels, interval, TLS and basic auth from mounted Secret keys', () => {
    expect(job('edge-routers')).toEqual({
      job_name: 'edge-routers',
      scheme: 'https',
      metrics_path: '/probe/metrics',
      scrape_interval: '1m',
      scrape_timeout: '20s',
      tls_config: { ca_file: `${SCRAPE_SECRETS_DIR}/edge-scrape/ca.crt`, server_name: 'edge.example.net' },
      basic_auth: { username: 'prometheus', password_file: `${SCRAPE_SECRETS_DIR}/edge-scrape/password` },
      static_configs: [{ targets: SCRAPE.static[0]?.targets, labels: { team: 'network', site: 'ams' } }],
    });
  });

  it('compiles a ServiceMonitor into an endpoints job that keeps the selected Services and port, labelled as the Operator does', () => {
    const j = job('serviceMonitor/checkout/0');
    expect(j.kubernetes_sd_configs).toEqual([{ role: 'endpoints', namespaces: { names: ['shop', 'shop-canary'] } }]);
    expect(j.scrape_interval).toBe('30s');
    expect(j.scrape_timeout).toBe('5s');
    expect(j.metrics_path).toBe('/internal/metrics');
    expect(j.relabel_configs).toEqual([
      { source_labels: ['__meta_kubernetes_service_label_app_kubernetes_io_name', '__meta_kubernetes_service_labelpresent_app_kubernetes_io_name'], regex: '(checkout);true', action: 'keep' },
      { source_labels: ['__meta_kubernetes_service_label_tier', '__meta_kubernetes_service_labelpresent_tier'], regex: '(batch);true', action: 'drop' },
      { source_labels: ['__meta_kubernetes_endpoint_port_name'], regex: 'http-metrics', action: 'keep' },
      { source_labels: ['__meta_kubernetes_pod_phase'], regex: '(Failed|Succeeded)', action: 'drop' },
      { source_labels: ['__meta_kubernetes_namespace'], target_label: 'namespace' },
      { source_labels: ['__meta_kubernetes_service_name'], target_label: 'service' },
      { source_labels: ['__meta_kubernetes_pod_name'], target_label: 'pod' },
      { source_labels: ['__meta_kubernetes_pod_container_name'], target_label: 'container' },
      { source_labels: ['__meta_kubernetes_service_name'], target_label: 'job' },
      { target_label: 'endpoint', replacement: 'http-metrics' },
      { source_labels: ['__meta_kubernetes_pod_label_version'], target_label: 'version' },
    ]);
    expect(j.metric_relabel_configs).toEqual([{ source_labels: ['__name__'], regex: 'go_gc_.*', action: 'drop' }]);
  });

  it("compiles a PodMonitor into a pod job in the environment's namespace by default, job named after the monitor", () => {
    const j = job('podMonitor/workers/0');
    expect(j.kubernetes_sd_configs).toEqual([{ role: 'pod', namespaces: { names: ['obs-test'] } }]);
    expect(j.relabel_configs).toContainEqual({ source_labels: ['__meta_kubernetes_pod_container_port_number'], regex: '9400', action: 'keep' });
    expect(j.relabel_configs).toContainEqual({ target_label: 'job', replacement: 'workers' });
    expect(j.relabel_configs).not.toContainEqual(expect.objectContaining({ target_label: 'service' }));
  });

  it('passes raw scrape_configs through as written, after the generated jobs', () => {
    expect(job('blackbox')).toEqual(SCRAPE.additionalScrapeConfigs[0]);
    const names = jobs.map((j) => j.job_name);
    expect(names.slice(-4)).toEqual(['edge-routers', 'serviceMonitor/checkout/0', 'podMonitor/workers/0', 'blackbox']);
    expect(new Set(names).size).toBe(names.length);
  });

  it('is accepted by promtool check config, and its Kubernetes discovery blocks by the offline check', () => {
    const root = mkdtempSync(join(tmpdir(), 'obstack-scrape-'));
    try {
      const sa = join(root, 'sa');
      mkdirSync(sa);
      writeFileSync(join(sa, 'token'), 'x');
      const offline = toOfflineConfig(text, root, { [SERVICE_ACCOUNT_DIR]: sa, [RULES_DIR]: join(root, 'rules'), [SCRAPE_SECRETS_DIR]: join(root, 'secrets') });
      expect(offline.findings).toEqual([]);
      // promtool opens the ingest job's bearer-token file (the other Secret files it does not open).
      expect([...offline.placeholderFiles].sort()).toEqual([join(root, 'secrets', 'ingest-prometheus', 'api-key'), join(sa, 'token')].sort());
      mkdirSync(join(root, 'secrets', 'ingest-prometheus'), { recursive: true });
      writeFileSync(join(root, 'secrets', 'ingest-prometheus', 'api-key'), 'x');
      writeFileSync(join(root, 'prometheus.yml'), offline.text);
      const res = promtoolCheckConfig(join(root, 'prometheus.yml'));
      expect(res.output).toContain('SUCCESS');
      expect(res.ok).toBe(true);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it("passes obstack check's own promtool run (the Secret files it mounts are ones promtool does not open)", () => {
    expect(checkWithTools(result).filter((f) => f.object === 'prometheus.yml')).toEqual([]);
  });

  it('passes the Kubernetes schema and the security policy with its Secret volumes and NetworkPolicy', () => {
    expect(validateKubernetesSchema(result.objects)).toEqual([]);
    expect(checkSecurityPolicy(result.objects)).toEqual([]);
  });

  it('and promtool refuses what the schema leaves to it, such as a broken regex in a relabeling', () => {
    const bad = environment({ scrape: { static: [{ job: 'x', targets: ['10.0.0.1:9100'], metricRelabelings: [{ source_labels: ['__name__'], regex: '(unclosed', action: 'drop' }] }] } });
    const root = mkdtempSync(join(tmpdir(), 'obstack-scrape-'));
    try {
      const sa = join(root, 'sa');
      mkdirSync(sa);
      writeFileSync(join(sa, 'token'), 'x');
      const offline = toOfflineConfig(synth(bad).files.get('prometheus.yml') ?? '', root, { [SERVICE_ACCOUNT_DIR]: sa, [RULES_DIR]: join(root, 'rules') });
      writeFileSync(join(root, 'prometheus.yml'), offline.text);
      const res = promtoolCheckConfig(join(root, 'prometheus.yml'));
      expect(res.ok).toBe(false);
      expect(res.output).toMatch(/error parsing regexp/);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('mounts only the Secret keys the jobs read, read-only', () => {
    const sts = find(result.objects, 'StatefulSet', 'prometheus') as Json;
    const pod = sts.spec.template.spec;
    expect(pod.volumes).toContainEqual({ name: 'scrape-secret-0', secret: { secretName: 'edge-scrape', items: [{ key: 'ca.crt', path: 'ca.crt' }, { key: 'password', path: 'password' }] } });
    expect(pod.containers[0].volumeMounts).toContainEqual({ name: 'scrape-secret-0', mountPath: `${SCRAPE_SECRETS_DIR}/edge-scrape`, readOnly: true });
  });

  it('lets Prometheus reach exactly what is declared: IP targets by address and port, in-cluster hosts and monitors by namespace, egress blocks by port', () => {
    const egress: Json[] = (find(result.objects, 'NetworkPolicy', 'prometheus') as Json).spec.egress;
    const rule = (port: number | undefined, to: Json[]): Json => ({ to, ...(port ? { ports: [{ port, protocol: 'TCP' }] } : {}) });
    const ns = (name: string): Json => ({ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': name } } });
    expect(egress).toContainEqual(rule(9100, [{ ipBlock: { cidr: '10.20.0.5/32' } }, { ipBlock: { cidr: '2001:db8::7/128' } }]));
    expect(egress).toContainEqual(rule(9127, [ns('data')]));
    expect(egress).toContainEqual(rule(undefined, [ns('obs-test'), ns('shop'), ns('shop-canary')]));
    expect(egress).toContainEqual(rule(9200, [{ ipBlock: { cidr: '198.51.100.0/24' } }]));
    expect(egress).toContainEqual(rule(9115, [{ ipBlock: { cidr: '203.0.113.80/32' } }]));
    // Nothing on the declared ports is opened to the world.
    const world = egress.filter((r) => r.to.some((p: Json) => p.ipBlock?.cidr === '0.0.0.0/0')).flatMap((r) => r.ports.map((p: Json) => p.port));
    // (2381, 10249, 10257 and 10259: etcd, kube-proxy, controller-manager and scheduler on their nodes' addresses.)
    expect(world.sort()).toEqual([10250, 443, 6443, 9100, 2381, 10249, 10257, 10259].sort());
  });

  it('discovers monitors in other namespaces with the cluster-wide read-only ClusterRole', () => {
    const role = find(result.objects, 'ClusterRole', 'obs-test-prometheus') as Json;
    expect(role.rules[0]).toEqual({ apiGroups: [''], resources: ['nodes', 'nodes/metrics', 'services', 'endpoints', 'pods'], verbs: ['get', 'list', 'watch'] });
  });

  it('leaves an environment without scrape declarations as it was', () => {
    const plain = synth(environment());
    const names = (parse(plain.files.get('prometheus.yml') ?? '') as Json).scrape_configs.map((j: Json) => j.job_name);
    expect(names.every((n: string) => (STACK_JOB_NAMES as readonly string[]).includes(n))).toBe(true);
    const pod = (find(plain.objects, 'StatefulSet', 'prometheus') as Json).spec.template.spec;
    // Only the ingest service's key for /metrics/business.
    expect(pod.volumes.filter((v: Json) => v.name.startsWith('scrape-secret'))).toEqual([
      { name: 'scrape-secret-0', secret: { secretName: 'ingest-prometheus', items: [{ key: 'api-key', path: 'api-key' }] } },
    ]);
  });
});

describe('STACK_JOB_NAMES', () => {
  it("holds every job the stack emits, in either Jaeger mode, so that a declared job can never take one's name", () => {
    const seen = new Set<string>();
    for (const jaeger of [{ mode: 'all-in-one', storage: 'memory' }, { mode: 'distributed', storage: 'elasticsearch' }]) {
      // Probe jobs exist only for what an environment lists.
      const probes = { tcp: [{ address: '10.0.0.1:5672' }], tls: [{ address: '10.0.0.1:443' }], http: [{ url: 'http://10.0.0.1/' }] };
      const env = environment({ components: { jaeger }, probes, alerting: { receivers: RECEIVERS_INPUT } });
      for (const j of (parse(synth(env).files.get('prometheus.yml') ?? '') as Json).scrape_configs) seen.add(j.job_name);
    }
    expect([...seen].sort()).toEqual([...STACK_JOB_NAMES].sort());
  });
});

