import { describe, expect, it } from 'vitest';
import {
  buildDashboards,
  DATASOURCES,
  type DatasourceKind,
  environmentDatasources,
  FULL_CONTEXT,
  GRAFANA_SCHEMA_VERSION,
  STACK_DASHBOARDS,
  stackDashboards,
} from '../../dashboards/index.js';
import { stackRuleFiles } from '../../rules/index.js';
import { recordingRules } from '../../rules/recording.js';
import { DASHBOARD_FOLDERS, DASHBOARD_UIDS, dashboardUidFromUrl, dashboardUrl } from '../../src/authoring/index.js';
import { checkEnvironmentDashboards } from '../../src/cli/check.js';
import { synthesizeEnvironment } from '../../src/cli/synthesize.js';
import { DATASOURCE_UIDS } from '../../src/constructs/index.js';
import { checkDashboards, stackMetricCatalog } from '../../src/validate/index.js';
import { example } from '../constructs/helpers.js';

interface Panel {
  id: number;
  type: string;
  title: string;
  description?: string;
  datasource?: { type: string; uid: string };
  targets?: Array<Record<string, unknown>>;
  gridPos: { x: number; y: number; w: number; h: number };
}
interface Dashboard {
  uid: string;
  title: string;
  schemaVersion: number;
  panels: Panel[];
  templating: { list: Array<{ name: string; type: string; query?: unknown; current?: { value?: unknown } }> };
}

const all = buildDashboards(STACK_DASHBOARDS, FULL_CONTEXT);
const parsed = all.map((f) => ({ file: f, d: JSON.parse(f.json) as Dashboard }));

describe('the shipped dashboards', () => {
  it('are at least 11 in every example environment, in stakeholder folders, with stable uids', () => {
    for (const name of ['dev', 'staging', 'prod'] as const) {
      const files = stackDashboards(example(name));
      expect(files.length).toBeGreaterThanOrEqual(11);
      expect(new Set(files.map((f) => f.uid)).size).toBe(files.length);
      for (const f of files) expect(Object.values(DASHBOARD_FOLDERS)).toContain(f.folder);
    }
    expect(all.map((f) => f.uid).sort()).toEqual(Object.values(DASHBOARD_UIDS).sort());
    expect(new Set(all.map((f) => f.folder))).toEqual(new Set(Object.values(DASHBOARD_FOLDERS)));
  });

  it('have meaningful panels: every panel has a title, a description and at least one query', () => {
    for (const { d } of parsed) {
      const panels = d.panels.filter((p) => p.type !== 'row');
      expect(panels.length, d.uid).toBeGreaterThanOrEqual(4);
      for (const p of panels) {
        expect(p.title, `${d.uid} panel ${p.id}`).not.toBe('');
        expect(p.description?.length ?? 0, `${d.uid} "${p.title}"`).toBeGreaterThanOrEqual(15);
        expect(p.targets?.length ?? 0, `${d.uid} "${p.title}"`).toBeGreaterThan(0);
      }
    }
  });

  it('reach every datasource through a variable preset to the uid the stack provisions', () => {
    expect(Object.fromEntries(Object.entries(DATASOURCES).map(([k, v]) => [k, v.uid]))).toEqual({
      prometheus: DATASOURCE_UIDS.prometheus,
      alertmanager: DATASOURCE_UIDS.alertmanager,
      logs: DATASOURCE_UIDS.logs,
      traces: DATASOURCE_UIDS.traces,
      analytics: DATASOURCE_UIDS.analytics,
    });
    for (const { d } of parsed) {
      const variables = new Map(d.templating.list.filter((v) => v.type === 'datasource').map((v) => [v.name, v]));
      for (const p of d.panels.filter((x) => x.type !== 'row')) {
        const name = /^\$\{(\w+)\}$/.exec(p.datasource?.uid ?? '')?.[1];
        expect(name, `${d.uid} "${p.title}"`).toBeDefined();
        const variable = variables.get(name!);
        expect(variable?.query, `${d.uid} "${p.title}"`).toBe(p.datasource?.type);
        const kind = (Object.keys(DATASOURCES) as DatasourceKind[]).find((k) => DATASOURCES[k].variable === name)!;
        expect(variable?.current?.value).toBe(DATASOURCES[kind].uid);
      }
    }
  });

  it('number panels 1..n and stamp the schema version of the pinned Grafana', () => {
    for (const { d } of parsed) {
      expect(d.panels.map((p) => p.id)).toEqual(d.panels.map((_, i) => i + 1));
      expect(d.schemaVersion).toBe(GRAFANA_SCHEMA_VERSION);
    }
  });

  it('pass every dashboard check with every datasource provisioned and the stack catalog', () => {
    const catalog = stackMetricCatalog();
    const datasources = Object.values(DATASOURCES).map((d) => ({ uid: d.uid, type: d.type }));
    // SLO records come from the rule files; the SLO dashboard reads them by name.
    const recorded = new Set(['slo:objective:ratio', 'slo:error_budget_remaining:ratio', 'slo:sli_error:ratio_rate5m', 'slo:sli_error:ratio_rate1h', 'slo:sli_error:ratio_rate30m', 'slo:sli_error:ratio_rate6h', 'slo:sli_error:ratio_rate2h', 'slo:sli_error:ratio_rate1d', 'slo:sli_error:ratio_rate3d']);
    // The panels' heavy queries read the recording area's series.
    for (const g of recordingRules(example('dev'))) for (const r of g.rules) recorded.add(r.name);
    const findings = checkDashboards(
      all.map((f) => ({ name: f.uid, json: f.json })),
      { datasources, knownMetric: (m) => catalog.has(m) || recorded.has(m), requireDatasourceVariable: true },
    );
    expect(findings).toEqual([]);
  });

  it('leave out panels and dashboards whose datasource the environment lacks', () => {
    const promOnly = buildDashboards(STACK_DASHBOARDS, { datasources: new Set<DatasourceKind>(['prometheus']) });
    const uids = promOnly.map((f) => f.uid);
    expect(uids).not.toContain(DASHBOARD_UIDS.logs);
    expect(uids).not.toContain(DASHBOARD_UIDS.traces);
    expect(uids).not.toContain(DASHBOARD_UIDS.businessKpis);
    expect(uids.length).toBeGreaterThanOrEqual(11);
    const alertsJson = promOnly.find((f) => f.uid === DASHBOARD_UIDS.alerts)!.json;
    expect(alertsJson).not.toContain('analytics');
  });

  it('pass the checks on what each example environment really provisions', () => {
    for (const name of ['dev', 'staging', 'prod'] as const) {
      const env = example(name);
      const result = synthesizeEnvironment(env, { ruleFiles: stackRuleFiles(env), dashboards: stackDashboards(env) });
      expect(checkEnvironmentDashboards(result)).toEqual([]);
      // What dashboards/index.ts assumes is provisioned is what Grafana provisions.
      const provisioned = new Set(result.stack.grafana?.provisionedDatasources.map((d) => d.uid));
      for (const kind of environmentDatasources(env)) expect(provisioned, `${name}: ${kind}`).toContain(DATASOURCES[kind].uid);
      for (const f of stackDashboards(env)) expect(result.files.get(`dashboards/${f.uid}.json`)).toBe(f.json);
    }
  });
});

describe('dashboard links', () => {
  it('build and read back Grafana dashboard URLs', () => {
    expect(dashboardUrl('https://grafana.example.com/', DASHBOARD_UIDS.serviceOverview, { job: 'api', route: '/a b' })).toBe(
      'https://grafana.example.com/d/obstack-service-overview?var-job=api&var-route=%2Fa%20b',
    );
    expect(dashboardUrl('', 'x')).toBe('/d/x');
    expect(dashboardUidFromUrl('https://g.example.com/d/obstack-nodes/nodes?orgId=1')).toBe('obstack-nodes');
    expect(dashboardUidFromUrl('https://g.example.com/explore')).toBeUndefined();
    expect(() => dashboardUrl('', 'not a uid')).toThrow(/uid must be/);
  });
});
