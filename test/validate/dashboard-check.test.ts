import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { corpusDir } from '../support/corpus.js';
import {
  buildCatalog,
  checkAlertDashboardLinks,
  checkDashboards,
  checkSloPanels,
  type DashboardCheckOptions,
  type DashboardSource,
  KUBE_PROMETHEUS_DASHBOARD_SOURCES,
  KUBE_PROMETHEUS_SOURCES,
  knownMetricPredicate,
  parsePromQL,
  PROMETHEUS_SYNTHETIC,
  recordedMetrics,
  substituteVariables,
  variableQueryExpr,
} from '../../src/validate/index.js';

const CORPUS_ROOT = corpusDir('dashboards') ?? '';
const CORPUS = join(CORPUS_ROOT, '..');
const read = (dir: string) =>
  (CORPUS_ROOT === '' ? [] : readdirSync(join(CORPUS, dir)))
    .sort()
    .map((f) => ({ name: f, json: readFileSync(join(CORPUS, dir, f), 'utf8') }));

const corpusDashboards: DashboardSource[] = read('dashboards');
const corpusRules = read('rules').map((r) => r.json);
const corpusOptions: DashboardCheckOptions = {
  datasources: [{ uid: 'prometheus', type: 'prometheus' }],
  knownMetric: knownMetricPredicate(buildCatalog([PROMETHEUS_SYNTHETIC, ...KUBE_PROMETHEUS_SOURCES, ...KUBE_PROMETHEUS_DASHBOARD_SOURCES]), recordedMetrics(corpusRules)),
};

describe.skipIf(CORPUS_ROOT === '')('the dashboard checks on the kube-prometheus corpus', () => {
  it('find no error or warning in the 33 real dashboards, with the kube-prometheus catalog', () => {
    expect(corpusDashboards).toHaveLength(33);
    expect(checkDashboards(corpusDashboards, corpusOptions).filter((f) => f.level !== 'info')).toEqual([]);
  });

  it('catch a deliberately broken copy: bad PromQL, unknown metric, missing datasource, overlapping panels, duplicate ids and uids', () => {
    const original = corpusDashboards.find((d) => d.name === 'nodes.json');
    if (!original) throw new Error('nodes.json missing from the corpus');
    const broken = JSON.parse(original.json) as {
      uid: string;
      panels: Array<{ id: number; title: string; type: string; gridPos: { x: number; y: number; w: number; h: number }; datasource?: unknown; targets?: Array<{ expr: string; datasource?: unknown }> }>;
      templating: { list: Array<{ name: string; type: string; query: unknown }> };
    };
    const graphs = broken.panels.filter((p) => p.type !== 'row' && (p.targets?.length ?? 0) > 0);
    const [a, b, c, e] = graphs;
    if (!a || !b || !c || !e) throw new Error('nodes.json has fewer panels than expected');
    a.targets![0]!.expr = 'sum(rate(node_cpu_seconds_total{mode="idle"}[$__rate_interval])';
    b.targets![0]!.expr = 'rate(node_cpu_secnds_total{instance="$instance"}[$__rate_interval])';
    c.datasource = { type: 'influxdb', uid: 'influx-prod' };
    c.targets![0]!.datasource = { type: 'influxdb', uid: 'influx-prod' };
    e.gridPos = { ...a.gridPos };
    e.id = a.id;
    const json = JSON.stringify(broken);
    const findings = checkDashboards([original, { name: 'nodes-broken.json', json }], corpusOptions);
    const on = (p: { title: string }) => findings.filter((f) => f.object === 'nodes-broken.json' && f.path?.includes(`"${p.title}"`)).map((f) => `${f.check}: ${f.message}`);

    expect(on(a).some((m) => m.startsWith('target-promql: is not valid PromQL'))).toBe(true);
    expect(on(b)).toContain('dashboard-metric: reads "node_cpu_secnds_total", which no scraped component exposes and no recording rule records');
    expect(on(c).filter((m) => m.startsWith('dashboard-datasource')).join('\n')).toMatch(/uses the datasource "influx-prod", which is not provisioned/);
    expect(on(e).some((m) => m.startsWith(`dashboard-grid: overlaps`) && m.includes(`"${a.title}"`))).toBe(true);
    expect(on(e).some((m) => m.startsWith(`dashboard-panel-id: has id ${a.id}, already used by `) && m.endsWith(`"${a.title}"`))).toBe(true);
    expect(findings.filter((f) => f.check === 'dashboard-uid')).toEqual([
      { check: 'dashboard-uid', object: 'nodes-broken.json', path: 'uid', message: `uid "${broken.uid}" is also the uid of nodes.json; Grafana would keep only one of them`, level: 'error', policy: false },
    ]);
    // The untouched original is still clean.
    expect(findings.filter((f) => f.object === 'nodes.json' && f.level !== 'info')).toEqual([]);
  });

  it('catch a datasource variable of a type no provisioned datasource has, and a variable that does not exist', () => {
    const d = JSON.parse(corpusDashboards.find((x) => x.name === 'nodes.json')!.json) as {
      templating: { list: Array<{ name: string; type: string; query: unknown }> };
      panels: Array<{ type: string; datasource?: unknown }>;
    };
    const variable = d.templating.list.find((v) => v.type === 'datasource')!;
    variable.query = 'loki';
    d.panels.find((p) => p.type !== 'row')!.datasource = { type: 'prometheus', uid: '${metrics}' };
    const messages = checkDashboards([{ name: 'x.json', json: JSON.stringify(d) }], corpusOptions).map((f) => f.message);
    expect(messages).toContain(`datasource variable "$${variable.name}" selects loki datasources, and none is provisioned`);
    expect(messages).toContain('refers to the variable "$metrics", which the dashboard does not define');
  });
});

describe('template variables in PromQL', () => {
  it.each([
    ['rate(x{a="$a"}[$__rate_interval])', 'rate(x{a="$a"}[5m])'],
    ['sum by ($label) (x)', 'sum by (template_label) (x)'],
    ['topk($n, x) offset $off', 'topk(1, x) offset 5m'],
    ['x[$window:$step]', 'x[5m:5m]'],
    ['$prefix:requests:rate5m', 'obstack_template_variable:requests:rate5m'],
    ['${metric}_total{job=~"[[job]]"}', 'obstack_template_variable_total{job=~"[[job]]"}'],
    ['x * $__range_s', 'x * 300'],
    ['x{a="it\\"s $v"} + $v', 'x{a="it\\"s $v"} + 1'],
    ["x # it's $v\n+ $v", "x # it's $v\n+ 1"],
  ])('%s becomes %s', (input, output) => {
    expect(substituteVariables(input)).toBe(output);
  });

  it('finds the PromQL inside variable queries', () => {
    expect(variableQueryExpr('label_values(up{job="x"}, instance)')).toBe('up{job="x"}');
    expect(variableQueryExpr('query_result(topk(5, x))')).toBe('topk(5, x)');
    expect(variableQueryExpr('label_values(instance)')).toBeUndefined();
  });
});

describe('no false alarms on what Grafana really runs', () => {
  const opts: DashboardCheckOptions = { datasources: [{ uid: 'prom', type: 'prometheus' }] };
  const ds = { type: 'prometheus', uid: '$datasource' };
  const withPanels = (panels: object[], variables: object[] = []) =>
    JSON.stringify({ uid: 'x', templating: { list: [{ name: 'datasource', type: 'datasource', query: 'prometheus' }, ...variables] }, panels });
  const timeseries = (targets: object[], extra: object = {}) => ({ id: 1, type: 'timeseries', title: 'T', datasource: ds, targets, ...extra });
  const parseFindings = (json: string) => checkDashboards([{ name: 'x.json', json }], opts).filter((f) => f.check === 'target-promql');

  it('substitute a custom variable by its values: PromQL operators and aggregations are no number', () => {
    const op = { name: 'op', type: 'custom', query: '>,<,>=', current: { value: '>' } };
    const agg = { name: 'agg', type: 'custom', query: 'avg : avg,maximum : max', options: [{ value: 'avg' }, { value: 'max' }] };
    const json = withPanels([timeseries([{ refId: 'A', expr: '$agg by (pod) (rate(x_total[$__rate_interval])) $op 0.5' }])], [op, agg]);
    expect(parseFindings(json)).toEqual([]);
    // With a number in their place, as before, the query would not parse.
    expect(parsePromQL(substituteVariables('$agg by (pod) (rate(x_total[5m])) $op 0.5')).errors).not.toEqual([]);
  });

  it('report the value of a custom variable that breaks the query (warning), and a query no value mends (error)', () => {
    // "=" is no PromQL comparison ("==" is).
    const op = { name: 'op', type: 'custom', query: '>,<,=' };
    const some = parseFindings(withPanels([timeseries([{ refId: 'A', expr: 'x $op 0.5' }])], [op]));
    expect(some.map((f) => [f.level, f.message])).toEqual([['warning', expect.stringMatching(/^is not valid PromQL when \$op = "=" .* though it is with \$op = ">": x \$op 0\.5$/)]]);
    const none = parseFindings(withPanels([timeseries([{ refId: 'A', expr: 'sum(x $op 0.5' }])], [op]));
    expect(none.map((f) => [f.level, f.message])).toEqual([['error', expect.stringMatching(/^is not valid PromQL \(.* with \$op = ">"\): sum\(x \$op 0\.5$/)]]);
  });

  it("read an apostrophe in a # comment as a comment, not an open string", () => {
    const expr = "sum(rate(x_total{job=~\"$job\"}[$__rate_interval])) # don't sum by $job\n  / $scale";
    expect(parseFindings(withPanels([timeseries([{ refId: 'A', expr }])]))).toEqual([]);
  });

  it('skip empty queries, hidden targets and panels Grafana never queries', () => {
    const json = withPanels([
      timeseries([{ refId: 'A', expr: '' }, { refId: 'B', expr: '   ' }, { refId: 'C', expr: 'rate(x[5m]', hide: true }, { refId: 'D', expr: 'up' }]),
      { id: 2, type: 'row', title: 'Row', targets: [{ refId: 'A', expr: '' }], panels: [] },
      { id: 3, type: 'text', title: 'Note', targets: [{ refId: 'A', expr: 'not promql (' }] },
    ]);
    expect(checkDashboards([{ name: 'x.json', json }], opts).filter((f) => f.level !== 'info')).toEqual([]);
  });

  it('still check a hidden target that a server-side expression of the panel reads', () => {
    const json = withPanels([timeseries([{ refId: 'A', expr: 'rate(x[5m]', hide: true }, { refId: 'B', datasource: { type: '__expr__', uid: '__expr__' }, expression: '$A * 2', type: 'math' }])]);
    expect(parseFindings(json).map((f) => f.path)).toEqual(['panels[0] "T".targets[0]']);
  });

  it('parse LogQL targets of Loki panels, refusing selectors Loki refuses', () => {
    const loki = { type: 'loki', uid: 'loki' };
    const json = JSON.stringify({
      uid: 'l',
      panels: [
        { id: 1, type: 'logs', title: 'Logs', datasource: loki, targets: [{ refId: 'A', expr: '{app="api", pod=~"$pod"} |= "$search" | logfmt | level="error"' }] },
        { id: 2, type: 'timeseries', title: 'Errors', datasource: loki, targets: [{ refId: 'A', expr: 'sum(rate({app=~".*"} |= "error" [$__auto]))' }] },
        { id: 3, type: 'timeseries', title: 'Bad', datasource: loki, targets: [{ refId: 'A', expr: 'rate({app="api"} [5m]' }] },
      ],
    });
    const findings = checkDashboards([{ name: 'l.json', json }], { datasources: [{ uid: 'loki', type: 'loki' }] }).filter((f) => f.check === 'target-logql');
    expect(findings.map((f) => [f.path, f.level])).toEqual([
      ['panels[1] "Errors".targets[0]', 'error'],
      ['panels[2] "Bad".targets[0]', 'error'],
    ]);
    expect(findings[0]!.message).toMatch(/has no matcher that excludes the empty value/);
  });
});

describe('links from alerts to dashboards, and SLO panels', () => {
  const rules = new Map([
    [
      'rules/a.yaml',
      `groups:
- name: a
  rules:
  - alert: Good
    expr: up == 0
    annotations: { dashboard_uid: obstack-nodes, dashboard_url: "https://grafana.example.com/d/obstack-nodes?var-instance=x" }
  - alert: Bad
    expr: up == 0
    annotations: { dashboard_uid: obstack-nodez, dashboard_url: "https://grafana.example.com/d/gone" }
  - record: slo:objective:ratio
    expr: vector(0.999)
    labels: { slo: checkout, service: shop }
`,
    ],
  ]);

  it('find every dashboard_uid and dashboard_url that names a dashboard not shipped', () => {
    expect(checkAlertDashboardLinks(rules, new Set(['obstack-nodes']))).toEqual([
      { check: 'alert-dashboard', object: 'rules/a.yaml', path: 'Bad.annotations.dashboard_uid', message: 'names the dashboard "obstack-nodez", which is not shipped (shipped: obstack-nodes)' },
      { check: 'alert-dashboard', object: 'rules/a.yaml', path: 'Bad.annotations.dashboard_url', message: 'points to the dashboard "gone", which is not shipped (shipped: obstack-nodes)' },
    ]);
  });

  it('require a panel for every SLO, by name or through an slo variable', () => {
    const slos = new Set(['checkout']);
    const none = { uid: 'x', json: JSON.stringify({ panels: [{ targets: [{ expr: 'up' }] }] }) };
    const named = { uid: 'y', json: JSON.stringify({ panels: [{ targets: [{ expr: 'slo:error_budget_remaining:ratio{slo="checkout"}' }] }] }) };
    const byVariable = {
      uid: 'z',
      json: JSON.stringify({
        templating: { list: [{ name: 'slo', type: 'query', query: 'label_values(slo:objective:ratio, slo)' }] },
        panels: [{ targets: [{ expr: 'slo:error_budget_remaining:ratio{slo=~"$slo"}' }] }],
      }),
    };
    expect(checkSloPanels(slos, [none]).map((f) => f.object)).toEqual(['SLO/checkout']);
    expect(checkSloPanels(slos, [none, named])).toEqual([]);
    expect(checkSloPanels(slos, [byVariable])).toEqual([]);
    expect(recordedMetrics(rules.values())).toEqual(new Set(['slo:objective:ratio']));
  });
});
