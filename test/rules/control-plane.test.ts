import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { stackRuleGroups } from '../../rules/index.js';
import { controlPlaneRules } from '../../rules/control-plane.js';
import { recordingRules } from '../../rules/recording.js';
import { stackDashboards } from '../../dashboards/index.js';
import { compileRuleFile, compileRuleTests, isAlert, type RuleGroup, testCoverage } from '../../src/authoring/index.js';
import { parsePromQL } from '../../src/validate/promql-parse.js';
import { runRuleTests } from '../../src/validate/rules-tests.js';
import { yamlText } from '../../src/config/yaml-text.js';
import { CORPUS_MISSING, corpusDir } from '../support/corpus.js';
import { environment, example } from '../constructs/helpers.js';

const prod = example('prod');
const alertNames = (groups: readonly RuleGroup[]): Set<string> => new Set(groups.flatMap((g) => g.rules.filter(isAlert).map((r) => r.name)));

describe('the control-plane alerts', () => {
  const groups = controlPlaneRules(prod);

  it('pass their promtool cases: each fires when its condition holds and stays silent otherwise', () => {
    const missing: string[] = [];
    for (const [name, c] of testCoverage(groups)) {
      if (c.fires === 0) missing.push(`${name}: no firing case`);
      if (c.silent === 0) missing.push(`${name}: no silent case`);
    }
    expect(missing).toEqual([]);
    const compiled = compileRuleTests({ 'control-plane.yaml': groups });
    expect(compiled.cases).toBeGreaterThanOrEqual(2 * alertNames(groups).size);
    const result = runRuleTests(compiled);
    expect(result.output).not.toContain('FAILED');
    expect(result.ok).toBe(true);
  });

  it('cover every part of the control plane in prod, each with a P1–P4 severity and a runbook', () => {
    const names = alertNames(groups);
    for (const a of ['KubeAPIDown', 'EtcdInsufficientMembers', 'KubeSchedulerDown', 'KubeControllerManagerDown', 'CoreDNSDown', 'KubeProxyDown', 'KubeletPlegDurationHigh', 'KubeNodeNotReady']) {
      expect(names).toContain(a);
    }
    for (const r of groups.flatMap((g) => g.rules.filter(isAlert))) {
      expect(['P1', 'P2', 'P3', 'P4']).toContain(r.labels.severity);
      expect(r.annotations.runbook_url).toBe(`${prod.alerting.runbookBaseUrl}/${r.name.replace(/([a-z0-9])([A-Z])/g, '$1-$2').replace(/([A-Z])([A-Z][a-z])/g, '$1-$2').toLowerCase()}.md`);
    }
  });

  it('are the same in every environment, and a part not scraped cannot report itself missing', () => {
    const bare = environment({
      controlPlane: { apiServer: { enabled: false }, kubelet: { enabled: false }, etcd: { enabled: false }, scheduler: { enabled: false }, controllerManager: { enabled: false }, coreDns: { enabled: false }, kubeProxy: { enabled: false } },
      components: { kubeStateMetrics: { enabled: false } },
    });
    const names = [...alertNames(groups)].sort();
    for (const env of [example('dev'), example('staging'), bare]) expect([...alertNames(controlPlaneRules(env))].sort()).toEqual(names);

    const expr = (env: ReturnType<typeof example>, name: string): string => controlPlaneRules(env).flatMap((g) => g.rules).find((r) => r.name === name)?.expr ?? '';
    expect(expr(prod, 'EtcdDown')).toBe('absent(up{job="etcd"} == 1)');
    // staging's managed cluster hides etcd: without targets the alert has nothing to fire on.
    expect(expr(example('staging'), 'EtcdDown')).toBe('max by (job) (up{job="etcd"}) == 0');
    expect(expr(example('staging'), 'KubeAPIDown')).toBe('absent(up{job="apiserver"} == 1)');
    expect(expr(example('dev'), 'KubeProxyDown')).not.toContain('absent');
    expect(expr(bare, 'KubeletsMissing')).not.toContain('vector(0)');
  });

  it('pass their promtool cases as each example environment ships them', () => {
    for (const name of ['dev', 'staging'] as const) {
      const result = runRuleTests(compileRuleTests({ 'control-plane.yaml': controlPlaneRules(example(name)) }));
      expect(result.output, name).not.toContain('FAILED');
      expect(result.ok, name).toBe(true);
    }
  });

  it('count the API errors every control-plane component gets', () => {
    const expr = groups.flatMap((g) => g.rules).find((r) => r.name === 'KubeClientErrors')?.expr ?? '';
    expect(expr).toContain('job=~"apiserver|kubelet|kube-scheduler|kube-controller-manager|kube-proxy"');
  });
});

describe('the recording rules', () => {
  const file = compileRuleFile(recordingRules(prod));

  it('record in the real Prometheus what the panels read', () => {
    const cpu = (container: string) => `container_cpu_usage_seconds_total{job="cadvisor",namespace="shop",pod="api-0",container="${container}"}`;
    const sli = (le: string) => `apiserver_request_sli_duration_seconds_bucket{job="apiserver",instance="a",verb="LIST",le="${le}"}`;
    const dns = (rcode: string) => `coredns_dns_responses_total{job="coredns",instance="a",zone=".",rcode="${rcode}"}`;
    const tests = {
      rule_files: ['recording.yaml'],
      evaluation_interval: '1m',
      tests: [
        {
          interval: '1m',
          input_series: [
            // Half a CPU for the container; the pod's pause container and the cgroup of the pod as a whole are left out.
            { series: cpu('api'), values: '0+30x20' },
            { series: cpu('POD'), values: '0+60x20' },
            { series: cpu(''), values: '0+90x20' },
            { series: 'node_cpu_seconds_total{job="node-exporter",instance="n1",cpu="0",mode="idle"}', values: '0+15x20' },
            { series: 'node_cpu_seconds_total{job="node-exporter",instance="n1",cpu="1",mode="idle"}', values: '0+45x20' },
            { series: 'node_cpu_seconds_total{job="node-exporter",instance="n1",cpu="0",mode="user"}', values: '0+45x20' },
            { series: sli('0.5'), values: '0+50x20' },
            { series: sli('1'), values: '0+100x20' },
            { series: sli('+Inf'), values: '0+100x20' },
            { series: dns('NOERROR'), values: '0+60x20' },
            { series: dns('SERVFAIL'), values: '0+6x20' },
          ],
          promql_expr_test: [
            {
              expr: 'namespace_pod_container:container_cpu_usage_seconds_total:rate5m',
              eval_time: '10m',
              exp_samples: [{ labels: 'namespace_pod_container:container_cpu_usage_seconds_total:rate5m{namespace="shop",pod="api-0",container="api"}', value: 0.5 }],
            },
            // Two CPUs idle a quarter and three quarters of the time: half used.
            { expr: 'instance:node_cpu_utilisation:rate5m', eval_time: '10m', exp_samples: [{ labels: 'instance:node_cpu_utilisation:rate5m{instance="n1"}', value: 0.5 }] },
            { expr: 'instance:node_num_cpu:sum', eval_time: '10m', exp_samples: [{ labels: 'instance:node_num_cpu:sum{instance="n1"}', value: 2 }] },
            // Half the requests under 0.5 s, all under 1 s: the 99th percentile interpolates to 0.99 s, the median to 0.5 s.
            {
              expr: 'verb:apiserver_request_sli_duration_seconds:histogram_quantile',
              eval_time: '10m',
              exp_samples: [
                { labels: 'verb:apiserver_request_sli_duration_seconds:histogram_quantile{verb="LIST",quantile="0.99"}', value: 0.99 },
                { labels: 'verb:apiserver_request_sli_duration_seconds:histogram_quantile{verb="LIST",quantile="0.5"}', value: 0.5 },
              ],
            },
            {
              expr: 'rcode:coredns_dns_responses_total:rate5m',
              eval_time: '10m',
              exp_samples: [
                { labels: 'rcode:coredns_dns_responses_total:rate5m{rcode="NOERROR"}', value: 1 },
                { labels: 'rcode:coredns_dns_responses_total:rate5m{rcode="SERVFAIL"}', value: 0.1 },
              ],
            },
          ],
        },
      ],
    };
    const result = runRuleTests({ ruleFiles: { 'recording.yaml': file }, testFiles: { 'recording.test.yaml': yamlText(tests) }, cases: 1 });
    expect(result.output).not.toContain('FAILED');
    expect(result.ok).toBe(true);
  });

  it('are read by the dashboards instead of the raw container, node CPU and histogram series', () => {
    const recorded = new Set(recordingRules(prod).flatMap((g) => g.rules.map((r) => r.name)));
    const exprs = (uid: string): string[] => {
      const file = stackDashboards(prod).find((d) => d.uid === uid);
      expect(file, `dashboard ${uid} ships in prod`).toBeDefined();
      const panels = (JSON.parse(file?.json ?? '{}') as { panels: { targets?: { expr?: string }[] }[] }).panels;
      return panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr ?? '')).filter((e) => e !== '');
    };
    const reads = (uid: string): Set<string> => new Set(exprs(uid).flatMap((e) => parsePromQL(e).selectors.map((s) => s.metric ?? '')));
    const workloads = reads('obstack-kubernetes-workloads');
    const nodes = reads('obstack-nodes');
    const controlPlane = reads('obstack-control-plane');
    for (const raw of ['container_cpu_usage_seconds_total', 'container_memory_working_set_bytes', 'container_cpu_cfs_periods_total']) expect(workloads).not.toContain(raw);
    expect(workloads).toContain('namespace_pod_container:container_cpu_usage_seconds_total:rate5m');
    expect(nodes).not.toContain('node_cpu_seconds_total');
    expect(nodes).toContain('instance:node_cpu_utilisation:rate5m');
    // No panel of the control plane computes a quantile over raw buckets: each reads its recorded percentile.
    expect([...controlPlane].filter((m) => m.endsWith('_bucket'))).toEqual([]);
    expect(exprs('obstack-control-plane').filter((e) => e.includes('histogram_quantile('))).toEqual([]);
    const used = [...workloads, ...nodes, ...controlPlane].filter((m) => m.includes(':'));
    expect(used.filter((m) => !recorded.has(m))).toEqual([]);
    expect(used.length).toBeGreaterThan(12);
  });
});

/** The metric family of a series name: a histogram's or summary's `_bucket`, `_count` and `_sum` are one family. */
const family = (metric: string): string => metric.replace(/_(bucket|count|sum)$/, '');

/** The metric families the alerts of some rule groups read, through the recording rules they read. */
function alertFamilies(groups: readonly { rules: readonly { alert?: string; record?: string; expr: string }[] }[]): Set<string> {
  const recorded = new Map<string, string[]>();
  for (const g of groups) for (const r of g.rules) if (r.record) recorded.set(r.record, [...(recorded.get(r.record) ?? []), r.expr]);
  const out = new Set<string>();
  const walk = (expr: string, seen: Set<string>): void => {
    for (const s of parsePromQL(expr).selectors) {
      if (s.metric === undefined) continue;
      const sources = recorded.get(s.metric);
      if (sources === undefined) out.add(family(s.metric));
      else if (!seen.has(s.metric)) {
        seen.add(s.metric);
        for (const e of sources) walk(e, seen);
      }
    }
  };
  for (const g of groups) for (const r of g.rules) if (r.alert) walk(r.expr, new Set());
  return out;
}

/** The README's coverage table: each family it explains, and the figure it states. */
function readmeCoverage(): { explained: Map<string, string>; figure: string | undefined } {
  const readme = readFileSync(join(import.meta.dirname, '..', '..', 'README.md'), 'utf8');
  const start = readme.indexOf('### Coverage against kube-prometheus');
  expect(start, 'README.md has a "Coverage against kube-prometheus" section').toBeGreaterThan(-1);
  const section = readme.slice(start, readme.indexOf('\n## ', start) === -1 ? undefined : readme.indexOf('\n## ', start));
  const explained = new Map<string, string>();
  for (const m of section.matchAll(/^\| `([a-zA-Z_:][a-zA-Z0-9_:]*)` \|[^|]*\| (.+?) \|$/gm)) explained.set(m[1] ?? '', (m[2] ?? '').trim());
  return { explained, figure: /\*\*(\d+ of \d+ \(\d+%\))\*\*/.exec(section)?.[1] };
}

describe.skipIf(corpusDir('rules') === undefined)('depth against kube-prometheus', () => {
  // A skipped describe still runs its body: without the corpus it reads nothing.
  const dir = corpusDir('rules');
  const kubePrometheus = (dir === undefined ? [] : readdirSync(dir))
    .filter((f) => f.endsWith('.yaml'))
    .flatMap((f) => {
      const doc = parse(readFileSync(join(dir ?? '', f), 'utf8')) as { groups?: never[]; spec?: { groups: never[] } };
      return doc.spec?.groups ?? doc.groups ?? [];
    }) as { rules: { alert?: string; record?: string; expr: string }[] }[];
  // prod scrapes every part of the control plane; the figure is what a cluster that exposes them all gets.
  const ours = Object.values(stackRuleGroups(prod))
    .flat()
    .map((g) => ({ rules: g.rules.map((r) => (isAlert(r) ? { alert: r.name, expr: r.expr } : { record: r.name, expr: r.expr })) }));
  const theirs = alertFamilies(kubePrometheus);
  const covered = alertFamilies(ours);
  const uncovered = [...theirs].filter((f) => !covered.has(f)).sort();
  const share = `${theirs.size - uncovered.length} of ${theirs.size} (${Math.floor((100 * (theirs.size - uncovered.length)) / theirs.size)}%)`;

  it('finds the families kube-prometheus alerts on, the control plane among them', () => {
    expect(theirs.size).toBeGreaterThan(100);
    for (const f of ['apiserver_request_total', 'apiserver_request_sli_duration_seconds', 'kubelet_pleg_relist_duration_seconds', 'kube_node_status_condition', 'up']) expect(theirs).toContain(f);
    for (const f of ['apiserver_request_total', 'apiserver_request_sli_duration_seconds', 'apiserver_client_certificate_expiration_seconds', 'kubelet_pleg_relist_duration_seconds', 'aggregator_unavailable_apiservice']) expect(covered).toContain(f);
  });

  it("has every family obstack's alerts do not read explained in the README, and no stale explanation", () => {
    const { explained } = readmeCoverage();
    expect(uncovered.filter((f) => !explained.has(f)), 'families no obstack alert reads and the README does not explain').toEqual([]);
    expect([...explained.keys()].filter((f) => !uncovered.includes(f)), 'families the README explains although an obstack alert reads them').toEqual([]);
    for (const [f, why] of explained) expect(why.length, `the reason given for ${f}`).toBeGreaterThan(10);
  });

  it('states the share it computes in the README', () => {
    console.log(`obstack's alerts read ${share} of the metric families kube-prometheus's alerts read`);
    expect(readmeCoverage().figure).toBe(share);
  });
});
