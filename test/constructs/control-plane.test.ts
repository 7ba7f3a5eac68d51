import { mkdtempSync, rmSync } from 'node:fs';
import { type Server, createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { stackRuleFiles } from '../../rules/index.js';
import { synthesizeEnvironment } from '../../src/cli/synthesize.js';
import { ConfigError, STACK_JOB_NAMES } from '../../src/config/index.js';
import { promtoolCheckConfig } from '../../src/validate/tools.js';
import { writeOfflinePrometheus } from '../support/offline-prometheus.js';
import { type Started, startPrometheus, waitFor } from '../support/processes.js';
import { type Json, environment, example, find, synth } from './helpers.js';

const CONTROL_PLANE_JOBS = ['apiserver', 'kubelet', 'cadvisor', 'etcd', 'kube-scheduler', 'kube-controller-manager', 'coredns', 'kube-proxy'];
const OFF = { enabled: false };

const config = (env: ReturnType<typeof example>): Json => parse(synth(env).files.get('prometheus.yml') ?? '') as Json;
const job = (cfg: Json, name: string): Json => cfg.scrape_configs.find((j: Json) => j.job_name === name);
const jobNames = (cfg: Json): string[] => cfg.scrape_configs.map((j: Json) => j.job_name);

describe("Prometheus's configuration for the control plane", () => {
  const prod = config(example('prod'));

  it('has a job for every part of the control plane in prod, each name reserved against declared jobs', () => {
    for (const name of CONTROL_PLANE_JOBS) {
      expect(jobNames(prod)).toContain(name);
      expect(STACK_JOB_NAMES).toContain(name);
    }
  });

  it('passes promtool check config in prod', () => {
    const root = mkdtempSync(join(tmpdir(), 'obstack-control-plane-config-'));
    try {
      const offline = writeOfflinePrometheus(synth(example('prod')).files, root);
      expect(offline.findings).toEqual([]);
      const result = promtoolCheckConfig(offline.configFile);
      expect(result.output).toContain('SUCCESS');
      expect(result.ok).toBe(true);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('reaches the API servers through the kubernetes Service, over TLS with the cluster CA and its token', () => {
    const api = job(prod, 'apiserver');
    expect(api.scheme).toBe('https');
    expect(api.tls_config).toEqual({ ca_file: '/var/run/secrets/kubernetes.io/serviceaccount/ca.crt', server_name: 'kubernetes' });
    expect(api.authorization).toEqual({ credentials_file: '/var/run/secrets/kubernetes.io/serviceaccount/token' });
    expect(api.kubernetes_sd_configs).toEqual([{ role: 'endpoints', namespaces: { names: ['default'] } }]);
    expect(api.relabel_configs).toEqual([
      { source_labels: ['__meta_kubernetes_service_name'], regex: 'kubernetes', action: 'keep' },
      { source_labels: ['__meta_kubernetes_endpoint_port_name'], regex: 'https', action: 'keep' },
    ]);
  });

  it('finds the other parts as pods by their labels, on their port, HTTPS with a token only for the scheduler and controller-manager', () => {
    const expected: Record<string, { selector: string; port: number; https: boolean }> = {
      etcd: { selector: 'component=etcd', port: 2381, https: false },
      'kube-scheduler': { selector: 'component=kube-scheduler', port: 10259, https: true },
      'kube-controller-manager': { selector: 'component=kube-controller-manager', port: 10257, https: true },
      coredns: { selector: 'k8s-app=kube-dns', port: 9153, https: false },
      'kube-proxy': { selector: 'k8s-app=kube-proxy', port: 10249, https: false },
    };
    for (const [name, e] of Object.entries(expected)) {
      const j = job(prod, name);
      expect(j.kubernetes_sd_configs, name).toEqual([{ role: 'pod', namespaces: { names: ['kube-system'] }, selectors: [{ role: 'pod', label: e.selector }] }]);
      expect(j.relabel_configs, name).toContainEqual({ source_labels: ['__meta_kubernetes_pod_ip'], regex: '(.+)', replacement: `$1:${e.port}`, target_label: '__address__' });
      expect(j.scheme, name).toBe(e.https ? 'https' : 'http');
      expect(j.authorization !== undefined, name).toBe(e.https);
    }
  });

  it('leaves out what a managed or local cluster hides, and follows a changed selector, namespace and port', () => {
    const staging = jobNames(config(example('staging')));
    for (const hidden of ['etcd', 'kube-scheduler', 'kube-controller-manager']) expect(staging).not.toContain(hidden);
    for (const kept of ['apiserver', 'kubelet', 'cadvisor', 'coredns', 'kube-proxy']) expect(staging).toContain(kept);
    const dev = jobNames(config(example('dev')));
    expect(dev).not.toContain('kube-proxy');
    expect(dev).toContain('coredns');

    const none = config(environment({ controlPlane: { apiServer: OFF, kubelet: OFF, etcd: OFF, scheduler: OFF, controllerManager: OFF, coreDns: OFF, kubeProxy: OFF } }));
    expect(jobNames(none).filter((n) => CONTROL_PLANE_JOBS.includes(n))).toEqual([]);

    const moved = job(config(environment({ controlPlane: { coreDns: { namespace: 'dns', selector: 'app=coredns,tier=dns', port: 9154 } } })), 'coredns');
    expect(moved.kubernetes_sd_configs).toEqual([{ role: 'pod', namespaces: { names: ['dns'] }, selectors: [{ role: 'pod', label: 'app=coredns,tier=dns' }] }]);
    expect(moved.relabel_configs).toContainEqual(expect.objectContaining({ replacement: '$1:9154' }));
  });

  it("keeps kube-state-metrics' namespace, pod and node labels (honor_labels, none of its own pod's)", () => {
    const ksm = job(prod, 'kube-state-metrics');
    expect(ksm.honor_labels).toBe(true);
    const targets = ksm.relabel_configs.map((r: Json) => r.target_label).filter(Boolean);
    for (const own of ['namespace', 'pod', 'node']) expect(targets).not.toContain(own);
    // Its telemetry job reports on itself and keeps the usual labels.
    expect(job(prod, 'kube-state-metrics-self').relabel_configs.map((r: Json) => r.target_label)).toContain('namespace');
  });
});

describe('what Prometheus may reach and read for the control plane', () => {
  const rules = (env: ReturnType<typeof example>): Json[] => (find(synth(env).objects, 'ClusterRole', `${env.namespace}-prometheus`) as Json).rules;
  const worldPorts = (env: ReturnType<typeof example>): number[] =>
    (find(synth(env).objects, 'NetworkPolicy', 'prometheus') as Json).spec.egress
      .filter((r: Json) => r.to.some((p: Json) => p.ipBlock?.cidr === '0.0.0.0/0'))
      .flatMap((r: Json) => r.ports.map((p: Json) => p.port))
      .sort((a: number, b: number) => a - b);

  it('grants GET /metrics and nodes/metrics only while a part that needs them is scraped', () => {
    expect(rules(example('prod'))).toContainEqual({ nonResourceURLs: ['/metrics'], verbs: ['get'] });
    expect(rules(example('prod'))[0].resources).toContain('nodes/metrics');
    const bare = environment({ controlPlane: { apiServer: OFF, kubelet: OFF, scheduler: OFF, controllerManager: OFF } });
    expect(rules(bare).some((r) => r.nonResourceURLs !== undefined)).toBe(false);
    expect(rules(bare)[0].resources).toEqual(['nodes', 'services', 'endpoints', 'pods']);
    // The scheduler alone still needs its /metrics authorized by the API server.
    const scheduler = environment({ controlPlane: { apiServer: OFF, controllerManager: OFF } });
    expect(rules(scheduler)).toContainEqual({ nonResourceURLs: ['/metrics'], verbs: ['get'] });
  });

  it("opens egress to the host-network parts' ports only while they are scraped", () => {
    expect(worldPorts(example('prod'))).toEqual([443, 2381, 6443, 9100, 10249, 10250, 10257, 10259]);
    expect(worldPorts(example('staging'))).toEqual([443, 6443, 9100, 10249, 10250]);
    expect(worldPorts(example('dev'))).toEqual([443, 6443, 9100, 10250]);
  });
});

describe('the controlPlane fields of an environment', () => {
  const issues = (controlPlane: unknown): string[] => {
    try {
      environment({ controlPlane });
    } catch (e) {
      expect(e).toBeInstanceOf(ConfigError);
      return (e as ConfigError).issues.map((i) => `${i.path}: ${i.message}`);
    }
    return [];
  };

  it('refuse a selector that is not label pairs, a port out of range and an unknown part, naming the field', () => {
    expect(issues({ etcd: { selector: 'component etcd' } })).toEqual([expect.stringMatching(/^controlPlane\.etcd\.selector: must be label pairs/)]);
    expect(issues({ kubeProxy: { port: 70000 } })).toEqual([expect.stringMatching(/^controlPlane\.kubeProxy\.port: /)]);
    expect(issues({ etcd: { selector: '' } })).toEqual([expect.stringMatching(/^controlPlane\.etcd\.selector: /)]);
    expect(issues({ cloudControllerManager: { enabled: true } })).toEqual([expect.stringMatching(/^controlPlane(\.cloudControllerManager)?: .*cloudControllerManager/)]);
  });

  it('replace the default selector whole rather than merging into it', () => {
    const env = environment({ controlPlane: { coreDns: { selector: 'app=coredns' } } });
    expect(env.controlPlane.coreDns.selector).toBe('app=coredns');
    expect(env.controlPlane.coreDns.port).toBe(9153);
  });
});

/**
 * The real Prometheus on the synthesized configuration and rules, with etcd
 * and CoreDNS played by small HTTP servers on 127.0.0.1. Their pods come
 * through files carrying the `__meta_kubernetes_*` labels pod discovery sets
 * (Debian's Prometheus has no Kubernetes discovery), so the relabelling, the
 * alerts and the recording rules under test are exactly the shipped ones.
 */
describe('the control-plane jobs, alerts and recording rules in a real Prometheus', () => {
  let root: string;
  let etcd: Server;
  let coreDns: Server;
  let prometheus: Started;
  let base: string;
  let active: Json[];
  let dropped: Json[];
  let scrapes = 0;

  const listen = async (server: Server): Promise<number> => {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    return typeof address === 'object' && address ? address.port : 0;
  };
  const pod = (address: string, name: string, node: string, over: Record<string, string> = {}): Json => ({
    targets: [address],
    labels: { __meta_kubernetes_namespace: 'kube-system', __meta_kubernetes_pod_name: name, __meta_kubernetes_pod_node_name: node, __meta_kubernetes_pod_ip: '127.0.0.1', __meta_kubernetes_pod_phase: 'Running', ...over },
  });
  const query = async (q: string): Promise<Json[]> => ((await (await fetch(`${base}/api/v1/query?query=${encodeURIComponent(q)}`)).json()) as Json).data.result;

  beforeAll(async () => {
    // An etcd member that has lost its leader, its database at 95% of its quota.
    etcd = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
      res.end('# TYPE etcd_server_has_leader gauge\netcd_server_has_leader 0\n# TYPE etcd_mvcc_db_total_size_in_bytes gauge\netcd_mvcc_db_total_size_in_bytes 95\n# TYPE etcd_server_quota_backend_bytes gauge\netcd_server_quota_backend_bytes 100\n');
    });
    // CoreDNS answering a tenth of its lookups with SERVFAIL.
    coreDns = createServer((_req, res) => {
      scrapes++;
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
      res.end(
        `# TYPE coredns_dns_responses_total counter\ncoredns_dns_responses_total{server="dns://:53",zone=".",rcode="NOERROR"} ${90 * scrapes}\ncoredns_dns_responses_total{server="dns://:53",zone=".",rcode="SERVFAIL"} ${10 * scrapes}\n`,
      );
    });
    const etcdPort = await listen(etcd);
    const dnsPort = await listen(coreDns);
    const env = environment({
      components: { prometheus: { scrapeInterval: '1s', evaluationInterval: '1s' } },
      controlPlane: { etcd: { port: etcdPort }, coreDns: { port: dnsPort } },
    });
    const targets = (jobName: string): Json[] => {
      if (jobName === 'etcd') {
        return [
          // One static pod seen through two container ports: one target after relabelling.
          pod('127.0.0.1:2379', 'etcd-cp1', 'cp1'),
          pod('127.0.0.1:2380', 'etcd-cp1', 'cp1'),
          pod('10.9.0.9:2379', 'etcd-starting', 'cp2', { __meta_kubernetes_pod_phase: 'Pending' }),
        ];
      }
      return jobName === 'coredns' ? [pod('10.1.0.5:53', 'coredns-1', 'n1')] : [];
    };
    root = mkdtempSync(join(tmpdir(), 'obstack-control-plane-live-'));
    const offline = writeOfflinePrometheus(synthesizeEnvironment(env, { ruleFiles: stackRuleFiles(env) }).files, root, targets);
    expect(offline.findings).toEqual([]);
    ({ server: prometheus, base } = await startPrometheus(offline.configFile, join(root, 'data')));
    await waitFor(async () => ((await query('rcode:coredns_dns_responses_total:rate5m{rcode="SERVFAIL"} > 0')).length === 1 ? true : undefined), 60_000, 'the recorded DNS response rate', prometheus);
    const body = ((await (await fetch(`${base}/api/v1/targets`)).json()) as Json).data;
    active = body.activeTargets;
    dropped = body.droppedTargets;
  }, 90_000);

  afterAll(async () => {
    await prometheus?.stop();
    await Promise.all([etcd, coreDns].map((s) => new Promise((resolve) => (s ? s.close(resolve) : resolve(undefined)))));
    if (root) rmSync(root, { recursive: true, force: true });
  });

  it("scrapes each pod once, on its address and the configured port, labelled with its namespace, pod and node, and skips pods that do not run", () => {
    const members = active.filter((t) => t.scrapePool === 'etcd');
    expect(members).toHaveLength(1);
    expect(members[0].health).toBe('up');
    expect(members[0].scrapeUrl).toBe(`http://127.0.0.1:${(etcd.address() as { port: number }).port}/metrics`);
    expect(members[0].labels).toEqual({ instance: `127.0.0.1:${(etcd.address() as { port: number }).port}`, job: 'etcd', namespace: 'kube-system', pod: 'etcd-cp1', node: 'cp1' });
    expect(dropped.filter((t) => t.discoveredLabels.job === 'etcd').map((t) => t.discoveredLabels.__meta_kubernetes_pod_name)).toEqual(['etcd-starting']);
  });

  it('evaluates the shipped etcd and CoreDNS alerts on the scraped series', async () => {
    const alerts = await waitFor(
      async () => {
        const list = ((await (await fetch(`${base}/api/v1/alerts`)).json()) as Json).data.alerts as Json[];
        const names = new Set(list.map((a) => a.labels.alertname));
        return ['EtcdNoLeader', 'EtcdDatabaseQuotaLowSpace', 'CoreDNSErrorsHigh'].every((n) => names.has(n)) ? list : undefined;
      },
      30_000,
      'the etcd and CoreDNS alerts',
      prometheus,
    );
    const noLeader = alerts.find((a) => a.labels.alertname === 'EtcdNoLeader');
    expect(noLeader.labels).toMatchObject({ severity: 'P1', service: 'etcd', job: 'etcd', pod: 'etcd-cp1', node: 'cp1', namespace: 'kube-system' });
    expect(alerts.find((a) => a.labels.alertname === 'CoreDNSErrorsHigh').labels).toMatchObject({ severity: 'P2', job: 'coredns' });
    // The parts with no target at all are reported as such.
    expect(alerts.map((a) => a.labels.alertname)).toEqual(expect.arrayContaining(['KubeSchedulerDown', 'KubeControllerManagerDown', 'KubeProxyDown', 'KubeAPIDown']));
    expect(alerts.map((a) => a.labels.alertname)).not.toContain('EtcdDown');
    expect(alerts.map((a) => a.labels.alertname)).not.toContain('CoreDNSDown');
  });

  it('records the DNS responses by code as the dashboard reads them: a tenth SERVFAIL', async () => {
    const rates = await query('rcode:coredns_dns_responses_total:rate5m');
    const byCode = Object.fromEntries(rates.map((r) => [r.metric.rcode, Number(r.value[1])]));
    expect(Object.keys(byCode).sort()).toEqual(['NOERROR', 'SERVFAIL']);
    expect(byCode.SERVFAIL! / (byCode.SERVFAIL! + byCode.NOERROR!)).toBeCloseTo(0.1, 5);
  });
});
