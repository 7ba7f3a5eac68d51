import { describe, expect, it } from 'vitest';
import { checkDashboard, DASHBOARD_CHECKS, type DashboardCheckOptions, type DashboardFinding } from '../../src/validate/index.js';

type Json = Record<string, unknown>;

const DS = { type: 'prometheus', uid: '${datasource}' };
const PROVISIONED: DashboardCheckOptions = { datasources: [{ uid: 'prom', type: 'prometheus' }, { uid: 'loki', type: 'loki' }] };

/** A Prometheus panel that every check accepts, with what the case changes. */
function panel(over: Json = {}, id = 1): Json {
  return {
    id,
    type: 'timeseries',
    title: 'Requests',
    description: 'Requests per second by route.',
    datasource: DS,
    fieldConfig: { defaults: { unit: 'reqps' }, overrides: [] },
    gridPos: { x: 0, y: 0, w: 12, h: 8 },
    targets: [{ refId: 'A', expr: 'sum by (route) (rate(http_requests_total{job=~"$job", instance=~"$instance"}[$__rate_interval]))' }],
    ...over,
  };
}

/** A query variable that follows dashboard-linter's conventions. */
const queryVariable = (name: string, over: Json = {}): Json => ({
  name,
  type: 'query',
  datasource: DS,
  query: `label_values(up, ${name})`,
  refresh: 2,
  multi: true,
  includeAll: true,
  allValue: '.+',
  ...over,
});

const DATASOURCE_VARIABLE = { name: 'datasource', type: 'datasource', query: 'prometheus' };

function dashboard(panels: Json[], variables: Json[] = [DATASOURCE_VARIABLE, queryVariable('job'), queryVariable('instance')]): string {
  return JSON.stringify({ uid: 'case', title: 'Case', templating: { list: variables }, panels });
}

function check(json: string, opts: Partial<DashboardCheckOptions> = {}): DashboardFinding[] {
  return checkDashboard({ name: 'case.json', json }, { ...PROVISIONED, policy: true, ...opts });
}
const of = (findings: readonly DashboardFinding[], rule: string) => findings.filter((f) => f.check === rule);

/** Each dashboard-linter rule: a dashboard that triggers it (with the level and the words the finding must have) and one that does not. */
const CASES: ReadonlyArray<{ rule: string; bad: string; level: string; says: RegExp; good: string; opts?: Partial<DashboardCheckOptions> }> = [
  {
    rule: 'template-datasource',
    bad: dashboard([panel({ datasource: { type: 'prometheus', uid: 'prom' }, targets: [{ refId: 'A', expr: 'up', datasource: { type: 'prometheus', uid: 'prom' } }] })], []),
    level: 'warning',
    says: /has prometheus queries but no datasource variable/,
    good: dashboard([panel()]),
  },
  {
    rule: 'template-datasource',
    bad: dashboard([panel({ datasource: { type: 'prometheus', uid: '$metrics' } })], [{ name: 'metrics', type: 'datasource', query: 'prometheus' }, queryVariable('job'), queryVariable('instance')]),
    level: 'info',
    says: /"\$metrics" should be named "datasource" or "prometheus_datasource"/,
    good: dashboard([panel({ datasource: { type: 'prometheus', uid: '$prometheus_datasource' } })], [{ name: 'prometheus_datasource', type: 'datasource', query: 'prometheus' }, queryVariable('job'), queryVariable('instance')]),
  },
  {
    rule: 'panel-datasource',
    bad: dashboard([panel({ datasource: { type: 'prometheus', uid: 'prom' } })]),
    level: 'warning',
    says: /names the datasource "prom" directly, not the dashboard's datasource variable \$datasource/,
    good: dashboard([panel({ datasource: null, targets: [{ refId: 'A', expr: 'up{job=~"$job", instance=~"$instance"}', datasource: DS }] })]),
  },
  {
    rule: 'target-promql',
    bad: dashboard([panel({ targets: [{ refId: 'A', expr: 'sum(rate(x_total{job=~"$job", instance=~"$instance"}[$__rate_interval])' }] })]),
    level: 'error',
    says: /is not valid PromQL \(at offset \d+: unexpected end of expression after substituting template variables\)/,
    good: dashboard([panel()]),
  },
  {
    rule: 'target-logql',
    bad: dashboard([panel({ datasource: { type: 'loki', uid: 'loki' }, targets: [{ refId: 'A', expr: 'sum(count_over_time({app="api"} |= "error" [$__auto])' }] })]),
    level: 'error',
    says: /is not valid LogQL/,
    good: dashboard([panel({ datasource: { type: 'loki', uid: 'loki' }, targets: [{ refId: 'A', expr: 'sum by (level) (count_over_time({app="api"} |= "error" | json | level!="debug" [$__auto]))' }] })]),
  },
  {
    rule: 'target-rate-interval',
    bad: dashboard([panel({ targets: [{ refId: 'A', expr: 'rate(http_requests_total{job=~"$job", instance=~"$instance"}[5m])' }] })]),
    level: 'info',
    says: /rate\(\) over a fixed \[5m\] rather than \[\$__rate_interval\]/,
    good: dashboard([panel({ targets: [{ refId: 'A', expr: 'increase(http_requests_total{job=~"$job", instance=~"$instance"}[1h]) + rate(http_requests_total{job=~"$job", instance=~"$instance"}[$__range])' }] })]),
  },
  {
    rule: 'target-rate-interval',
    bad: dashboard([panel({ targets: [{ refId: 'A', expr: 'irate(http_requests_total{job=~"$job", instance=~"$instance"}[$__interval])' }] })]),
    level: 'warning',
    says: /irate\(\) over \[\$__interval\]: at short time ranges/,
    good: dashboard([panel()]),
  },
  {
    rule: 'target-job',
    bad: dashboard([panel({ targets: [{ refId: 'A', expr: 'up{instance=~"$instance"}' }] })]),
    level: 'info',
    says: /up\{instance=~"\$instance"\} does not filter by the dashboard's \$job variable/,
    // A series of another exporter: the picker lists the jobs of `up`'s family only when the dashboard filters it by $job.
    good: dashboard([panel({ targets: [{ refId: 'A', expr: 'kube_pod_info{instance=~"$instance"} * on () group_left up_ratio:sum{instance=~"$instance"}' }] })]),
  },
  {
    rule: 'target-instance',
    bad: dashboard([panel({ targets: [{ refId: 'A', expr: 'up{job=~"$job"}' }, { refId: 'B', expr: 'up{job=~"$job", instance=~"$instance"}' }] })]),
    level: 'info',
    says: /up\{job=~"\$job"\} does not filter by the dashboard's \$instance variable/,
    good: dashboard([panel({ targets: [{ refId: 'A', expr: 'up{job=~"$job", instance=~"${instance:regex}"}' }] })]),
  },
  {
    rule: 'target-counter-agg',
    bad: dashboard([panel({ targets: [{ refId: 'A', expr: 'sum(http_requests_total{job=~"$job", instance=~"$instance"})' }] })]),
    level: 'info',
    says: /reads the counter "http_requests_total" in sum\(\)/,
    good: dashboard([panel({ targets: [{ refId: 'A', expr: 'count(http_requests_total{job=~"$job", instance=~"$instance"}) + sum(increase(http_requests_total{job=~"$job", instance=~"$instance"}[1h] offset 1d))' }] })]),
  },
  {
    // By metadata: a counter without _total is caught, a gauge named _total is not.
    rule: 'target-counter-agg',
    bad: dashboard([panel({ targets: [{ refId: 'A', expr: 'node_cpu_seconds{job=~"$job", instance=~"$instance"}' }] })]),
    level: 'info',
    says: /reads the counter "node_cpu_seconds" as it is/,
    good: dashboard([panel({ targets: [{ refId: 'A', expr: 'queue_length_total{job=~"$job", instance=~"$instance"}' }] })]),
    opts: { metricType: (m) => (m === 'node_cpu_seconds' ? 'counter' : m === 'queue_length_total' ? 'gauge' : undefined) },
  },
  {
    rule: 'template-job',
    bad: dashboard([panel({ targets: [{ refId: 'A', expr: 'up{instance=~"$instance"}' }] })], [DATASOURCE_VARIABLE, queryVariable('instance')]),
    level: 'info',
    says: /has no "job" variable/,
    good: dashboard([panel()]),
  },
  {
    rule: 'template-job',
    bad: dashboard([panel()], [DATASOURCE_VARIABLE, queryVariable('job', { multi: false, allValue: null, datasource: { type: 'prometheus', uid: 'prom' } }), queryVariable('instance')]),
    level: 'info',
    says: /variable "\$job" queries "prom", not the datasource variable; is not multi-select; has no All value/,
    good: dashboard([panel()]),
  },
  {
    rule: 'template-instance',
    bad: dashboard([panel()], [DATASOURCE_VARIABLE, queryVariable('job'), queryVariable('instance', { type: 'custom', query: 'a,b' })]),
    level: 'info',
    says: /variable "\$instance" is a custom variable, not a query/,
    good: dashboard([panel()]),
  },
  {
    rule: 'template-label-promql',
    bad: dashboard([panel()], [DATASOURCE_VARIABLE, queryVariable('job', { query: 'label_values(up{job=~"a"), job)' }), queryVariable('instance')]),
    level: 'error',
    says: /is not valid PromQL/,
    good: dashboard([panel()], [DATASOURCE_VARIABLE, queryVariable('job', { query: { qryType: 1, query: 'label_values(up{cluster="$cluster"}, job)', refId: 'A' } }), queryVariable('instance', { query: 'query_result(topk(5, sum by (instance) (up)))' })]),
  },
  {
    rule: 'template-label-promql',
    bad: dashboard([panel()], [DATASOURCE_VARIABLE, queryVariable('job', { query: 'sum by (job) (up)' }), queryVariable('instance')]),
    level: 'error',
    says: /sends "sum by \(job\) \(up\)" to Prometheus as a series selector/,
    good: dashboard([panel()], [DATASOURCE_VARIABLE, queryVariable('job', { query: 'up{namespace="$namespace"}' }), queryVariable('instance', { query: 'label_values(${metric}_info, instance)' })]),
  },
  {
    rule: 'template-on-time-change-reload',
    bad: dashboard([panel()], [DATASOURCE_VARIABLE, queryVariable('job', { refresh: 1 }), queryVariable('instance')]),
    level: 'info',
    says: /"\$job" refreshes on dashboard load, not on time range change/,
    good: dashboard([panel()]),
  },
  {
    rule: 'panel-title-description',
    bad: dashboard([panel({ description: '' })]),
    level: 'info',
    says: /^has no description$/,
    good: dashboard([panel(), { id: 2, type: 'row', title: '', gridPos: { x: 0, y: 8, w: 24, h: 1 } }]),
  },
  {
    rule: 'panel-units',
    bad: dashboard([panel({ fieldConfig: { defaults: {}, overrides: [] } })]),
    level: 'info',
    says: /has no unit/,
    good: dashboard([panel({ fieldConfig: { defaults: {}, overrides: [{ matcher: { id: 'byName', options: 'A' }, properties: [{ id: 'unit', value: 'suffix: req' }] }] } })]),
  },
  {
    rule: 'panel-units',
    bad: dashboard([panel({ fieldConfig: { defaults: { unit: 'seconds' } } })]),
    level: 'info',
    says: /has the unit "seconds", which is not one of Grafana's/,
    good: dashboard([panel({ type: 'graph', fieldConfig: undefined, yaxes: [{ format: 'dtdurations' }, { format: 'short' }] })]),
  },
  {
    rule: 'panel-no-targets',
    bad: dashboard([panel({ targets: [] })]),
    level: 'warning',
    says: /is a timeseries panel with no query: it shows no data/,
    good: dashboard([panel(), { id: 2, type: 'text', title: 'Read me', options: { content: 'hello' }, gridPos: { x: 12, y: 0, w: 12, h: 8 } }]),
  },
];

describe("Grafana's dashboard-linter rules", () => {
  it('cover every rule of dashboard-linter', () => {
    const linter = ['template-datasource', 'panel-datasource', 'target-promql', 'target-rate-interval', 'target-job', 'target-instance', 'template-job', 'template-instance', 'template-label-promql', 'panel-title-description', 'panel-units', 'target-counter-agg', 'template-on-time-change-reload', 'panel-no-targets', 'target-logql'];
    for (const rule of linter) {
      expect(Object.keys(DASHBOARD_CHECKS)).toContain(rule);
      expect(CASES.some((c) => c.rule === rule)).toBe(true);
    }
  });

  it.each(CASES.map((c, i) => [`${c.rule} #${i}`, c] as const))('%s: a panel that triggers it, and one that does not', (_, c) => {
    const bad = of(check(c.bad, c.opts), c.rule);
    expect(bad.map((f) => f.message).join('\n')).toMatch(c.says);
    expect(bad.find((f) => c.says.test(f.message))?.level).toBe(c.level);
    expect(bad.every((f) => f.policy === DASHBOARD_CHECKS[c.rule as keyof typeof DASHBOARD_CHECKS].policy)).toBe(true);
    expect(of(check(c.good, c.opts), c.rule)).toEqual([]);
  });

  it('the clean dashboard of the cases passes every check, policy included', () => {
    expect(check(dashboard([panel()]))).toEqual([]);
  });

  it('run the policy checks only when asked', () => {
    const json = dashboard([panel({ description: '', fieldConfig: {} })], [DATASOURCE_VARIABLE]);
    const all = check(json).map((f) => f.check);
    expect(all).toEqual(expect.arrayContaining(['panel-title-description', 'panel-units', 'template-job', 'template-instance']));
    const defects = check(json, { policy: false });
    expect(defects.filter((f) => f.policy)).toEqual([]);
  });

  it('give each finding the line of the query or panel it is about', () => {
    const json = JSON.stringify(JSON.parse(dashboard([panel(), panel({ title: 'Broken', targets: [{ refId: 'A', expr: 'rate(x[5m]' }] }, 2)])), null, 2);
    const [finding] = of(check(json), 'target-promql');
    const line = json.split('\n').findIndex((l) => l.includes('"expr": "rate(x[5m]"')) + 1;
    expect(line).toBeGreaterThan(1);
    expect(finding?.line).toBe(line);
  });
});
