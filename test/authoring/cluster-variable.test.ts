import { describe, expect, it } from 'vitest';
import { buildDashboards, FULL_CONTEXT, labelVariable, promql, stackDashboard, stackDashboards, timeseriesPanel, compileDashboard } from '../../dashboards/index.js';
import { stackRuleFiles } from '../../rules/index.js';
import { addClusterVariable, CLUSTER_VARIABLE_QUERY, withClusterMatcher } from '../../src/authoring/index.js';
import { checkEnvironmentDashboards } from '../../src/cli/check.js';
import { synthesizeEnvironment } from '../../src/cli/synthesize.js';
import { promqlFacts } from '../../src/validate/dashboards/promql-facts.js';
import { substituteVariables } from '../../src/validate/dashboards/variables.js';
import { example } from '../constructs/helpers.js';

type Json = Record<string, any>;

/** Every Prometheus query of a compiled dashboard: panel targets (nested ones too) and query variables' selectors. */
function prometheusQueries(dashboard: Json): { where: string; expr: string }[] {
  const out: { where: string; expr: string }[] = [];
  const walk = (panels: Json[] | undefined) => {
    for (const p of panels ?? []) {
      for (const t of p.targets ?? []) {
        if (typeof t.expr === 'string' && (t.datasource ?? p.datasource)?.type === 'prometheus') out.push({ where: `panel "${p.title}" ${t.refId}`, expr: t.expr });
      }
      walk(p.panels);
    }
  };
  walk(dashboard.panels);
  for (const v of dashboard.templating?.list ?? []) {
    // The cluster variable lists every cluster: its own query is not filtered by it.
    if (v.name === 'cluster') continue;
    const query = v.type === 'query' && v.datasource?.type === 'prometheus' ? (v.query as string) : '';
    const inner = /^label_values\(([\s\S]*),\s*\w+\)$/.exec(query)?.[1] ?? /^query_result\(([\s\S]*)\)$/.exec(query)?.[1];
    if (inner !== undefined) out.push({ where: `variable ${v.name}`, expr: inner });
  }
  return out;
}

/** The selectors of a query, read from its parse (Grafana's variables replaced as the dashboard checks replace them). */
function selectorsOf(expr: string) {
  const facts = promqlFacts(substituteVariables(expr));
  return { errors: facts.errors, selectors: facts.selectors };
}

const hasClusterMatcher = (s: { matchers: readonly { name: string; op: string; value: string }[] }) =>
  s.matchers.some((m) => m.name === 'cluster' && m.op === '=~' && m.value === '$cluster');

describe('withClusterMatcher', () => {
  it('adds the matcher inside every selector, wherever the selector stands', () => {
    const expr = 'sum by (job) (rate(x{a="b"}[$__rate_interval])) / on (job) group_left () max(y) + z{} * w{a="1",} offset $__range';
    const out = withClusterMatcher(expr);
    const { errors, selectors } = selectorsOf(out);
    expect(errors).toEqual([]);
    expect(selectors.map((s) => s.metric)).toEqual(['x', 'y', 'z', 'w']);
    for (const s of selectors) expect(hasClusterMatcher(s), s.text).toBe(true);
    // The other matchers are kept as they were.
    expect(selectors[0]!.matchers.map((m) => `${m.name}${m.op}${m.value}`)).toEqual(['a=b', 'cluster=~$cluster']);
    expect(selectors[3]!.matchers.map((m) => m.name)).toEqual(['a', 'cluster']);
  });

  it('keeps a selector that already matches on cluster, a nameless one gets the matcher too, and strings are not selectors', () => {
    const out = withClusterMatcher('label_replace(up{cluster="eu"}, "x", "$1", "instance", "(.*)") or {__name__=~"a|b", job="j"}');
    const { selectors } = selectorsOf(out);
    expect(selectors[0]!.matchers).toEqual([{ name: 'cluster', op: '=', value: 'eu' }]);
    expect(selectors[1]!.matchers.map((m) => m.name)).toEqual(['__name__', 'job', 'cluster']);
    expect(out).toContain('"(.*)"');
  });

  it('reads variables as Grafana places them: in ranges and subqueries, in by (…), as a number, in a name', () => {
    for (const expr of ['max_over_time(x[$__range:$__interval])', 'sum by ($label) (x)', 'topk($n, x)', 'app_${suffix}_total', 'x offset -$shift']) {
      const { errors, selectors } = selectorsOf(withClusterMatcher(expr));
      expect(errors, expr).toEqual([]);
      expect(selectors.length, expr).toBe(1);
      expect(hasClusterMatcher(selectors[0]!), expr).toBe(true);
    }
  });

  it('refuses a query that does not parse, quoting it', () => {
    expect(() => withClusterMatcher('sum(rate(x[5m])')).toThrow(/does not parse .*sum\(rate\(x\[5m\]\)/);
  });
});

describe('multi-cluster dashboards (the multiCluster compile option)', () => {
  for (const name of ['dev', 'prod'] as const) {
    const env = example(name);
    const plain = stackDashboards(env);
    const multi = stackDashboards(env, { multiCluster: true });

    it(`${name}: every dashboard that queries Prometheus gets the cluster variable after its datasource variables`, () => {
      expect(multi.map((d) => d.uid)).toEqual(plain.map((d) => d.uid));
      let withVariable = 0;
      for (const file of multi) {
        const dashboard = JSON.parse(file.json) as Json;
        const list = dashboard.templating.list as Json[];
        const cluster = list.find((v) => v.name === 'cluster');
        if (prometheusQueries(dashboard).length === 0) {
          expect(cluster, file.uid).toBeUndefined();
          // Nothing to change: the file is the one compiled without the option.
          expect(file.json, file.uid).toBe(plain.find((d) => d.uid === file.uid)!.json);
          continue;
        }
        withVariable++;
        expect(cluster, file.uid).toMatchObject({
          type: 'query',
          query: CLUSTER_VARIABLE_QUERY,
          definition: 'label_values(up, cluster)',
          datasource: { type: 'prometheus', uid: '${datasource}' },
          multi: true,
          includeAll: true,
          allValue: '.*',
          current: { value: '$__all' },
        });
        const at = list.indexOf(cluster!);
        expect(list.slice(0, at).every((v) => v.type === 'datasource'), file.uid).toBe(true);
        expect(list.slice(at + 1).some((v) => v.type === 'datasource'), file.uid).toBe(false);
      }
      // The logs, traces-only and analytics-only dashboards aside, all of them.
      expect(withVariable).toBeGreaterThanOrEqual(15);
    });

    it(`${name}: every selector of every Prometheus query carries cluster=~"$cluster", and every query still parses`, () => {
      let selectors = 0;
      for (const file of multi) {
        for (const q of prometheusQueries(JSON.parse(file.json) as Json)) {
          const parsed = selectorsOf(q.expr);
          expect(parsed.errors, `${file.uid} ${q.where}: ${q.expr}`).toEqual([]);
          expect(parsed.selectors.length, `${file.uid} ${q.where}`).toBeGreaterThan(0);
          for (const s of parsed.selectors) expect(hasClusterMatcher(s), `${file.uid} ${q.where}: ${s.text}`).toBe(true);
          selectors += parsed.selectors.length;
        }
      }
      expect(selectors).toBeGreaterThan(300);
    });

    it(`${name}: the cluster variable's own query is not filtered, and the other variables keep their label`, () => {
      const variables = (uid: string) => Object.fromEntries((JSON.parse(multi.find((d) => d.uid === uid)!.json).templating.list as Json[]).map((v) => [v.name, v]));
      const probes = variables('obstack-probes');
      expect(probes['cluster']!.query).toBe('label_values(up, cluster)');
      expect(probes['instance']!.query).toBe('label_values(probe_success{job=~"$job", cluster=~"$cluster"}, instance)');
      expect(probes['instance']!.definition).toBe(probes['instance']!.query);
      const overview = variables('obstack-service-overview');
      expect(overview['namespace']!.query).toMatch(/^query_result\(.*http_requests_total\{cluster=~"\$cluster"\}.*\)$/);
      expect(overview['namespace']!.regex).toBe('/\\b(?:namespace)="([^"]+)"/');
    });

    it(`${name}: check dashboards finds nothing the single-cluster dashboards do not have`, () => {
      const ruleFiles = stackRuleFiles(env);
      const findings = (dashboards: typeof plain) =>
        checkEnvironmentDashboards(synthesizeEnvironment(env, { ruleFiles, dashboards })).map((f) => `${f.check} ${f.message}`).sort();
      expect(findings(multi)).toEqual(findings(plain));
    });
  }

  it('without the option (or with it off) the JSON is byte for byte what it was', () => {
    const env = example('prod');
    const plain = stackDashboards(env);
    expect(stackDashboards(env, { multiCluster: false }).map((d) => d.json)).toEqual(plain.map((d) => d.json));
    expect(stackDashboards(env, {}).map((d) => d.json)).toEqual(plain.map((d) => d.json));
    for (const d of plain) expect(d.json, d.uid).not.toContain('$cluster');
  });

  it("leaves a dashboard that has its own cluster variable as it is, and applies to a team's dashboards through buildDashboards", () => {
    const own = () =>
      stackDashboard({ uid: 'team-own', title: 'Own', description: 'd', datasources: ['prometheus'] })
        .withVariable(labelVariable({ name: 'cluster', series: 'kube_node_info' }))
        .withPanel(timeseriesPanel({ title: 'Up', description: 'd', queries: [promql('up{job="a"}')] }));
    expect(compileDashboard(own(), 'Team', { multiCluster: true }).json).toBe(compileDashboard(own(), 'Team').json);
    const [team] = buildDashboards(
      [{ uid: 'team-up', requires: ['prometheus'], build: () => stackDashboard({ uid: 'team-up', title: 'Up', description: 'd', datasources: ['prometheus'] }).withPanel(timeseriesPanel({ title: 'Up', description: 'd', queries: [promql('sum(up)')] })) }],
      FULL_CONTEXT,
      () => 'Team',
      { multiCluster: true },
    );
    const dashboard = JSON.parse(team!.json) as Json;
    expect(dashboard.panels[0].targets[0].expr).toBe('sum(up{cluster=~"$cluster"})');
    expect((dashboard.templating.list as Json[]).map((v) => v.name)).toEqual(['datasource', 'cluster']);
  });

  it('names the dashboard, panel and query of a query it cannot rewrite', () => {
    const dashboard = { uid: 'broken', panels: [{ title: 'Bad', datasource: { type: 'prometheus', uid: '${datasource}' }, targets: [{ refId: 'B', expr: 'sum(' }] }] };
    expect(() => addClusterVariable(dashboard)).toThrow(/dashboard broken, panel "Bad", query B: cannot add/);
  });
});
