import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { checkDashboardFiles } from '../../src/cli/dashboards-commands.js';
import type { ReportedFinding } from '../../src/validate/index.js';
import { corpusDir } from '../support/corpus.js';

const KUBE_PROMETHEUS = corpusDir('dashboards');
const ROOT = KUBE_PROMETHEUS === undefined ? undefined : join(KUBE_PROMETHEUS, '..', '..');
const KUBERNETES = ROOT === undefined ? undefined : join(ROOT, 'grafana-dashboards-kubernetes', 'dashboards');
const files = (dir: string | undefined) =>
  dir === undefined || !existsSync(dir)
    ? []
    : readdirSync(dir)
        .filter((f) => f.endsWith('.json'))
        .sort()
        .map((f) => join(dir, f));
const CORPUS = [...files(KUBE_PROMETHEUS), ...files(KUBERNETES)];

/** `obstack check dashboards --no-catalog --format json` over the corpus, files named from the corpus root. */
function run(extra: string[]): { code: number; findings: ReportedFinding[] } {
  let out = '';
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    out += String(chunk);
    return true;
  });
  const code = checkDashboardFiles(['--no-catalog', '--format', 'json', '--config', join(import.meta.dirname, 'fixtures', 'empty-checks.yaml'), ...extra, ...CORPUS]);
  vi.restoreAllMocks();
  const findings = (JSON.parse(out) as ReportedFinding[]).map((f) => ({ ...f, file: f.file.slice(ROOT!.length + 1) }));
  return { code, findings };
}

const KP = 'kube-prometheus/dashboards/';
const GK = 'grafana-dashboards-kubernetes/dashboards/';
const FIXED_RANGE = 'style: a fixed range where $__rate_interval would follow the time range; the figures are right, only coarser when zoomed out';
const UP_COUNT = 'the "Up" stat counts every instance of the job on purpose; true that $instance does not narrow it';
const JOB_PICKER = 'the dashboard lists this metric\'s jobs in $job and filters other panels of it by $job; this panel shows every job';

/**
 * Every finding of the default checks (no policy, no catalog) on the corpus,
 * with why it is there. All are info-level notes: there is no error or
 * warning. A new finding, or one gone, fails the test.
 */
const EXPECTED: ReadonlyArray<readonly [file: string, where: string, check: string, why: string]> = [
  [`${KP}controller-manager.json`, 'panels[0] "Up".targets[0]', 'target-instance', UP_COUNT],
  [`${KP}grafana-overview.json`, 'panels[0] "Firing Alerts".targets[0]', 'target-counter-agg', 'real defect: "Firing Alerts" shows grafana_alerting_result_total, a count of alerting evaluations since start, not the alerts firing now'],
  [`${KP}grafana-overview.json`, 'panels[3] "RPS".targets[0]', 'target-rate-interval', FIXED_RANGE],
  [`${KP}prometheus-remote-write.json`, 'panels[2] "Rate[5m]".targets[0]', 'target-rate-interval', `${FIXED_RANGE} (the title names the 5m window)`],
  [`${KP}prometheus-remote-write.json`, 'panels[4] "Rate, in vs. succeeded or dropped [5m]".targets[0]', 'target-rate-interval', `${FIXED_RANGE} (the title names the 5m window)`],
  [`${KP}prometheus-remote-write.json`, 'panels[17] "Dropped Samples".targets[0]', 'target-rate-interval', FIXED_RANGE],
  [`${KP}prometheus-remote-write.json`, 'panels[18] "Failed Samples".targets[0]', 'target-rate-interval', FIXED_RANGE],
  [`${KP}prometheus-remote-write.json`, 'panels[19] "Retried Samples".targets[0]', 'target-rate-interval', FIXED_RANGE],
  [`${KP}prometheus-remote-write.json`, 'panels[20] "Enqueue Retries".targets[0]', 'target-rate-interval', FIXED_RANGE],
  [`${KP}prometheus.json`, 'panels[3] "Target Sync".targets[0]', 'target-rate-interval', FIXED_RANGE],
  [`${KP}prometheus.json`, 'panels[6] "Average Scrape Interval Duration".targets[0]', 'target-rate-interval', FIXED_RANGE],
  [`${KP}prometheus.json`, 'panels[7] "Scrape failures".targets[0]', 'target-rate-interval', `${FIXED_RANGE} ([1m]: empty when the scrape interval is 30s or more)`],
  [`${KP}prometheus.json`, 'panels[7] "Scrape failures".targets[1]', 'target-rate-interval', `${FIXED_RANGE} ([1m], as above)`],
  [`${KP}prometheus.json`, 'panels[7] "Scrape failures".targets[2]', 'target-rate-interval', `${FIXED_RANGE} ([1m], as above)`],
  [`${KP}prometheus.json`, 'panels[7] "Scrape failures".targets[3]', 'target-rate-interval', `${FIXED_RANGE} ([1m], as above)`],
  [`${KP}prometheus.json`, 'panels[7] "Scrape failures".targets[4]', 'target-rate-interval', `${FIXED_RANGE} ([1m], as above)`],
  [`${KP}prometheus.json`, 'panels[8] "Appended Samples".targets[0]', 'target-rate-interval', FIXED_RANGE],
  [`${KP}prometheus.json`, 'panels[13] "Query Rate".targets[0]', 'target-rate-interval', FIXED_RANGE],
  [`${KP}proxy.json`, 'panels[0] "Up".targets[0]', 'target-instance', UP_COUNT],
  [`${KP}scheduler.json`, 'panels[0] "Up".targets[0]', 'target-instance', UP_COUNT],
  [`${GK}k8s-system-api-server.json`, 'panels[1] "Deprecated Kubernetes Resources".targets[0]', 'target-job', JOB_PICKER],
  [`${GK}k8s-system-api-server.json`, 'panels[2] "API Server - HTTP Requests by code".targets[0]', 'target-job', JOB_PICKER],
  [`${GK}k8s-system-api-server.json`, 'panels[3] "API Server - HTTP Requests by verb".targets[0]', 'target-job', JOB_PICKER],
  [`${GK}k8s-system-api-server.json`, 'panels[8] "API Server - Stacked HTTP Requests by instance".targets[0]', 'target-job', JOB_PICKER],
  [`${GK}k8s-views-namespaces.json`, 'panels[15] "Nb of pods by state".targets[3]', 'target-counter-agg', 'style: total restarts since each container started, plotted over time; increase() would show the restarts within the range'],
  ...['panels[1] "Created by"', 'panels[2] "Running on"', 'panels[3] "Pod IP"', 'panels[4] "Priority Class"', 'panels[5] "QOS Class"', 'panels[6] "Last Terminated Reason"', 'panels[7] "Last Terminated Exit Code"', 'panels[22] "Pods with Container Issues"', 'panels[23] "Unscheduled Pods"'].map(
    (panel) => [`${GK}k8s-views-pods.json`, `${panel}.targets[0]`, 'target-job', `${JOB_PICKER} (kube-state-metrics series; $job picks the kube-state-metrics job)`] as const,
  ),
];

/**
 * The policy notes (`--policy`): dashboard-linter's conventions, which the
 * corpus follows only in part. Counted per check, each count explained.
 */
const POLICY: Readonly<Record<string, readonly [count: number, why: string]>> = {
  'panel-title-description': [489, 'most kube-prometheus panels have a title but no description'],
  'panel-units': [34, '29 count and ratio panels with no unit; 5 custom suffixes ("rds" twice, "read/s", "write/s", "io/s")'],
  'template-job': [36, '35 dashboards narrow by cluster and namespace, with no job picker; one job picker has All value .*'],
  'template-instance': [40, '26 dashboards with no instance picker; 14 instance pickers single-select or without the .+ All value'],
  'template-on-time-change-reload': [19, 'variables of grafana-dashboards-kubernetes and a few kube-prometheus ones refresh on dashboard load'],
};

describe.skipIf(CORPUS.length === 0)('check dashboards --no-catalog on the corpus (kube-prometheus, grafana-dashboards-kubernetes)', () => {
  afterEach(() => vi.restoreAllMocks());

  it('reads all 41 dashboards and reports exactly the findings listed, each an info-level note, exit 0', () => {
    expect(CORPUS).toHaveLength(41);
    const { code, findings } = run([]);
    expect(findings.map((f) => [f.file, f.where, f.check])).toEqual(EXPECTED.map(([file, where, check]) => [file, where, check]));
    expect(findings.every((f) => f.level === 'info' && !f.policy)).toBe(true);
    expect(code).toBe(0);
  });

  it('with --policy adds only the policy notes counted here', () => {
    const { code, findings } = run(['--policy']);
    const counts: Record<string, number> = {};
    for (const f of findings.filter((x) => x.policy)) counts[f.check] = (counts[f.check] ?? 0) + 1;
    expect(counts).toEqual(Object.fromEntries(Object.entries(POLICY).map(([check, [n]]) => [check, n])));
    expect(findings.filter((f) => !f.policy)).toHaveLength(EXPECTED.length);
    expect(findings.every((f) => f.level === 'info')).toBe(true);
    expect(code).toBe(0);
  });
});
