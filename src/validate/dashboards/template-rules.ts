import { type DashboardModel, isObject, str, variableQuery } from './model.js';
import type { ResolvedDatasource } from './datasource-rules.js';
import type { FindingSink } from './rule-table.js';
import { type PromQLCheck } from './target-rules.js';

/** The PromQL inside a Prometheus variable query (`label_values(expr, label)`, `query_result(expr)`), if any. */
export function variableQueryExpr(query: string): string | undefined {
  const q = query.trim();
  const result = /^query_result\(([\s\S]*)\)$/.exec(q);
  if (result) return result[1];
  const values = /^label_values\(([\s\S]*),\s*[A-Za-z_][A-Za-z0-9_]*\s*\)$/.exec(q);
  if (values) return values[1];
  return undefined;
}

/** What Grafana's Prometheus datasource does with a variable query: the PromQL to check and how it is used, or why it fails. */
function variableQueryPromQL(query: string): { expr?: string; selectorOnly: boolean } | { error: string } {
  const q = query.trim();
  const call = /^([a-z_]+)\s*\(([\s\S]*)\)$/.exec(q);
  switch (call?.[1]) {
    case 'query_result':
      return { expr: call[2]!, selectorOnly: false };
    case 'label_values': {
      const args = call[2]!.trim();
      if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(args)) return { selectorOnly: true };
      const m = /^([\s\S]*),\s*([A-Za-z_][A-Za-z0-9_]*|\$\{?\w+\}?)\s*$/.exec(args);
      if (!m) return { error: `label_values() takes a label name, or a series selector and a label name: ${q}` };
      return { expr: m[1]!, selectorOnly: true };
    }
    case 'label_names':
      return call[2]!.trim() === '' ? { selectorOnly: true } : { expr: call[2]!, selectorOnly: true };
    case 'metrics':
      return { selectorOnly: true };
    default:
      // Anything else is sent as a series selector (`/api/v1/series?match[]=…`).
      return q === '' ? { selectorOnly: true } : { expr: q, selectorOnly: true };
  }
}

/**
 * template-label-promql: a Prometheus query variable's query is one Grafana
 * understands and its PromQL parses; a selector where Grafana asks for one.
 */
export function checkTemplateQueries(model: DashboardModel, resolve: (ref: unknown, path: string) => ResolvedDatasource, promql: PromQLCheck, sink: FindingSink): void {
  for (const [name, v] of model.variables) {
    if (v.type !== 'query') continue;
    const path = `templating.list[name=${name}]`;
    const type = resolve(v.datasource, `${path}.datasource`).type;
    if (type !== undefined && type !== 'prometheus') continue;
    const query = variableQuery(v);
    if (query === undefined) continue;
    const use = variableQueryPromQL(query);
    if ('error' in use) {
      sink.add('template-label-promql', use.error, `${path}.query`);
      continue;
    }
    if (use.expr === undefined) continue;
    const checked = promql(use.expr, `${path}.query`, 'template-label-promql');
    // Tested on the substituted text, where `${metric}_info` has become a name.
    if (checked && use.selectorOnly && !/^\s*(\{[\s\S]*\}|[A-Za-z_:][A-Za-z0-9_:]*(\{[\s\S]*\})?)\s*$/.test(checked.substitution.text)) {
      sink.add('template-label-promql', `Grafana sends "${use.expr.trim()}" to Prometheus as a series selector, and it is an expression; use query_result() for an expression`, `${path}.query`);
    }
  }
}

/** template-on-time-change-reload: query variables refresh on time range change (refresh 2), so their values match the range shown. */
export function checkTemplateRefresh(model: DashboardModel, sink: FindingSink): void {
  for (const [name, v] of model.variables) {
    if (v.type !== 'query' || v.refresh === 2) continue;
    const now = v.refresh === 1 ? 'on dashboard load' : v.refresh === 0 || v.refresh === undefined ? 'never' : JSON.stringify(v.refresh);
    sink.add('template-on-time-change-reload', `query variable "$${name}" refreshes ${now}, not on time range change (refresh: 2): its values can miss what the chosen range shows`, `templating.list[name=${name}]`);
  }
}

/**
 * template-job and template-instance (dashboard-linter's conventions for
 * Prometheus dashboards): a `job` / `instance` variable, a multi-select
 * query on the dashboard's datasource variable with `.+` as its All value.
 */
export function checkJobInstanceTemplates(model: DashboardModel, sink: FindingSink): void {
  const prometheus = model.panels.some((p) => p.queries && p.targets.some((t) => !t.skipped && t.type === 'prometheus'));
  if (!prometheus) return;
  const datasourceVariables = new Set([...model.variables].filter(([, v]) => v.type === 'datasource').map(([n]) => n));
  for (const label of ['job', 'instance'] as const) {
    const check = label === 'job' ? 'template-job' : 'template-instance';
    const v = model.variables.get(label);
    if (!v) {
      sink.add(check, `has no "${label}" variable to narrow its Prometheus queries by ${label}`, 'templating');
      continue;
    }
    const wrong: string[] = [];
    if (v.type !== 'query') wrong.push(`is a ${String(v.type)} variable, not a query`);
    const uid = isObject(v.datasource) ? str(v.datasource.uid) : str(v.datasource);
    const onVariable = uid !== undefined && [...datasourceVariables].some((n) => uid === `$${n}` || uid === `\${${n}}`);
    if (!onVariable) wrong.push(`queries ${uid === undefined ? 'the default datasource' : `"${uid}"`}, not the datasource variable`);
    if (v.multi !== true) wrong.push('is not multi-select');
    if (v.includeAll === true && (v.allValue === undefined || v.allValue === null || v.allValue === '')) wrong.push('has no All value: All sends every value as one long regex (allValue ".+")');
    else if (v.includeAll === true && v.allValue !== '.+') wrong.push(`has All value ${JSON.stringify(v.allValue)}, not ".+"`);
    if (wrong.length > 0) sink.add(check, `variable "$${label}" ${wrong.join('; ')}`, `templating.list[name=${label}]`);
  }
}
