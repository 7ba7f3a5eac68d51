import type { MetricType } from './metric-catalog.js';
import { checkTemplateDatasource, type ProvisionedDatasource, resolveDatasources } from './dashboards/datasource-rules.js';
import { dashboardJson, dashboardModel } from './dashboards/model.js';
import { checkPanel } from './dashboards/panel-rules.js';
import { type DashboardFinding, FindingSink } from './dashboards/rule-table.js';
import { checkGrid, checkPanelIds, checkSize, checkUid } from './dashboards/structure-rules.js';
import type { SelectorFact } from './dashboards/promql-facts.js';
import { checkMetrics, checkRequiredMatchers, checkTarget, promqlChecker } from './dashboards/target-rules.js';
import { checkJobInstanceTemplates, checkTemplateQueries, checkTemplateRefresh } from './dashboards/template-rules.js';
import { knownValues, valuesSignature } from './dashboards/variables.js';

export { canonicalType, type ProvisionedDatasource } from './dashboards/datasource-rules.js';
export { DASHBOARD_CHECKS, type DashboardCheckId, type DashboardCheckLevel, type DashboardCheckRule, type DashboardFinding } from './dashboards/rule-table.js';
export { variableQueryExpr } from './dashboards/template-rules.js';
export { knownValues, NAME_PLACEHOLDER, substituteVariables, substitutions, variableName, type Substitution, type VariableValues } from './dashboards/variables.js';
export { promqlFacts, type PromQLFacts } from './dashboards/promql-facts.js';

export interface DashboardCheckOptions {
  /** The datasources provisioned; a panel on any other is a finding. */
  readonly datasources: readonly ProvisionedDatasource[];
  /** Whether a metric name is known (the chosen catalog, recording rules); without it metrics are not checked. */
  readonly knownMetric?: (metric: string) => boolean;
  /** A metric's type from metadata (catalog, `# TYPE` dump): counters are told by it, else by a `_total` name. */
  readonly metricType?: (metric: string) => MetricType | undefined;
  /**
   * Also run the checks that state conventions rather than defects (policy:
   * dashboard-linter's job and instance variables, titles and descriptions,
   * units, refresh on time change, a datasource variable). @default false
   */
  readonly policy?: boolean;
  /** Refuse literal datasource uids in panels: the shipped dashboards always go through a variable. @default false */
  readonly requireDatasourceVariable?: boolean;
  /** Largest JSON that fits its ConfigMap. @default 1 MiB minus 4 KiB for the object's metadata */
  readonly maxBytes?: number;
}

/** One dashboard to check: where it comes from (a file name or a uid) and its JSON text. */
export interface DashboardSource {
  readonly name: string;
  readonly json: string;
}

/**
 * Checks one dashboard with every check of DASHBOARD_CHECKS: datasources
 * provisioned and reached through variables, panel ids unique, panels inside
 * the grid, every query Grafana runs parsing once its template variables are
 * substituted (PromQL and LogQL), metrics known, Grafana's dashboard-linter
 * rules, and the JSON small enough for its ConfigMap. Each finding carries
 * its level and whether it is policy.
 */
export function checkDashboard(source: DashboardSource, opts: DashboardCheckOptions): DashboardFinding[] {
  return checkOne(source, opts).findings;
}

function checkOne(source: DashboardSource, opts: DashboardCheckOptions): { findings: DashboardFinding[]; uid?: string } {
  const sink = new FindingSink(source.name);
  const parsed = dashboardJson(source.json);
  if ('error' in parsed) {
    sink.add('dashboard-json', parsed.error);
    return { findings: sink.findings };
  }
  const model = dashboardModel(parsed.json);
  // A finding's line: its variable's name after "templating", its query near its panel's title, or that title.
  sink.anchorsFrom((path) => {
    const variable = /^templating\.list\[name=([^\]]*)\]/.exec(path);
    if (variable) return ['templating', variable[1]!];
    const within = (prefix: string) => path.startsWith(prefix) && (path.length === prefix.length || path[prefix.length] === '.');
    for (const p of model.panels) {
      if (!path.startsWith(p.describe)) continue;
      const title = typeof p.json.title === 'string' && p.json.title !== '' ? [p.json.title] : [];
      for (const t of p.targets) if (t.expr !== undefined && within(t.path)) return [...title, t.expr];
      if (within(p.describe)) return title;
    }
    return undefined;
  });
  checkSize(source.json, opts.maxBytes, sink);
  checkUid(model.json, sink);

  const resolve = resolveDatasources(model, opts, sink);
  const values = knownValues(model.variables);
  const signature = valuesSignature(model.variables, values);
  const promql = promqlChecker(values, signature, sink);
  checkTemplateQueries(model, resolve, (expr, path, check) => {
    const checked = promql(expr, path, check);
    if (checked) checkMetrics(checked.facts.selectors, opts, path, sink);
    return checked;
  }, sink);

  checkPanelIds(model, sink);
  const targets: Array<{ path: string; selectors: readonly SelectorFact[] }> = [];
  for (const p of model.panels) {
    checkPanel(p, opts.policy === true, sink);
    for (const t of p.targets) {
      const facts = checkTarget(p, t, promql, values, signature, opts, sink);
      if (facts) targets.push({ path: t.path, selectors: facts.selectors });
    }
  }
  checkRequiredMatchers(model, targets, sink);
  checkGrid(model, sink);
  if (opts.policy) {
    checkTemplateDatasource(model, sink);
    checkTemplateRefresh(model, sink);
    checkJobInstanceTemplates(model, sink);
  }
  const uid = model.json.uid;
  return { findings: sink.located(source.json), ...(typeof uid === 'string' && uid !== '' ? { uid } : {}) };
}

/** Checks several dashboards, and that no two share a uid; `sources` is read once, in order, so it may read files as it goes. */
export function checkDashboards(sources: Iterable<DashboardSource>, opts: DashboardCheckOptions): DashboardFinding[] {
  const findings: DashboardFinding[] = [];
  const uids = new Map<string, string>();
  for (const s of sources) {
    const { findings: own, uid } = checkOne(s, opts);
    findings.push(...own);
    if (uid === undefined) continue;
    const first = uids.get(uid);
    if (first !== undefined) findings.push({ check: 'dashboard-uid', object: s.name, path: 'uid', message: `uid "${uid}" is also the uid of ${first}; Grafana would keep only one of them`, level: 'error', policy: false });
    else uids.set(uid, s.name);
  }
  return findings;
}
