import { type DashboardModel, isObject, str } from './model.js';
import type { FindingSink } from './rule-table.js';
import { variableName } from './variables.js';

/** A datasource Grafana provisions: what a panel may name. */
export interface ProvisionedDatasource {
  readonly uid: string;
  readonly type: string;
}

/** Grafana's built-in datasources, which are never provisioned. */
const BUILT_IN = new Set(['-- Mixed --', '-- Grafana --', '-- Dashboard --', 'grafana', '__expr__', 'expr']);

/** Plugin ids that name the same datasource (Grafana renamed its core SQL plugins). */
const TYPE_ALIASES: Readonly<Record<string, string>> = {
  postgres: 'grafana-postgresql-datasource',
  mysql: 'grafana-mysql-datasource',
};
export const canonicalType = (t: string): string => TYPE_ALIASES[t] ?? t;

/** What a datasource reference names. */
export interface ResolvedDatasource {
  /** The plugin type, when known. */
  readonly type?: string;
  /** How it names the datasource: through a variable, one of Grafana's built-ins, a literal uid or name, or not at all. */
  readonly via: 'variable' | 'built-in' | 'literal' | 'none';
  readonly uid?: string;
}

export interface DatasourceCheckOptions {
  readonly datasources: readonly ProvisionedDatasource[];
  /** Refuse literal datasource uids: the stack's own dashboards always go through a variable. */
  readonly requireDatasourceVariable?: boolean;
}

/**
 * Resolves every panel's and target's datasource to a plugin type, reporting
 * (dashboard-datasource) what is not provisioned or not defined, and returns
 * the resolver for variables' datasources.
 */
export function resolveDatasources(model: DashboardModel, opts: DatasourceCheckOptions, sink: FindingSink): (ref: unknown, path: string) => ResolvedDatasource {
  const provisionedTypes = new Set(opts.datasources.map((ds) => canonicalType(ds.type)));
  const provisionedUids = new Map(opts.datasources.map((ds) => [ds.uid, canonicalType(ds.type)]));

  /** What a reference names, and what is wrong with it wherever it stands. */
  const resolveRef = (uid: string | undefined, type: string | undefined): { resolved: ResolvedDatasource; problems: string[] } => {
    const typed = type !== undefined ? { type } : {};
    const problems: string[] = [];
    if (uid === undefined) {
      if (type !== undefined && type !== 'datasource' && !provisionedTypes.has(type)) problems.push(`uses a ${type} datasource, and none is provisioned`);
      return { resolved: { ...typed, via: type === 'datasource' ? 'built-in' : 'none' }, problems };
    }
    if (BUILT_IN.has(uid) || type === 'datasource') return { resolved: { ...typed, via: 'built-in', uid }, problems };
    const name = variableName(uid);
    if (name !== undefined) {
      const variable = model.variables.get(name);
      if (!variable) return { resolved: { ...typed, via: 'variable', uid }, problems: [`refers to the variable "$${name}", which the dashboard does not define`] };
      if (variable.type !== 'datasource') return { resolved: { ...typed, via: 'variable', uid }, problems };
      const query = typeof variable.query === 'string' ? canonicalType(variable.query) : undefined;
      if (query !== undefined && type !== undefined && query !== type) problems.push(`says its datasource is ${type} but the variable "$${name}" selects ${query} datasources`);
      const resolved = query ?? type;
      return { resolved: { ...(resolved !== undefined ? { type: resolved } : {}), via: 'variable', uid }, problems };
    }
    if (opts.requireDatasourceVariable) problems.push(`names the datasource uid "${uid}" directly; use a datasource variable so the dashboard can be imported anywhere`);
    const provisioned = provisionedUids.get(uid);
    if (provisioned === undefined) {
      problems.push(`uses the datasource "${uid}", which is not provisioned (provisioned: ${[...provisionedUids.keys()].join(', ') || 'none'})`);
      return { resolved: { ...typed, via: 'literal', uid }, problems };
    }
    return { resolved: { type: provisioned, via: 'literal', uid }, problems };
  };

  // Panels and targets name the same few datasources over and over.
  const memo = new Map<string, ReturnType<typeof resolveRef>>();
  const NONE: ResolvedDatasource = { via: 'none' };
  const resolve = (ref: unknown, path: string | (() => string)): ResolvedDatasource => {
    if (ref === undefined || ref === null) return NONE;
    const uid = isObject(ref) ? str(ref.uid) : str(ref);
    const rawType = isObject(ref) ? str(ref.type) : undefined;
    const key = `${uid ?? '\u0000'}\u0001${rawType ?? '\u0000'}`;
    let known = memo.get(key);
    if (!known) {
      known = resolveRef(uid, rawType !== undefined ? canonicalType(rawType) : undefined);
      memo.set(key, known);
    }
    for (const problem of known.problems) sink.add('dashboard-datasource', problem, typeof path === 'string' ? path : path());
    return known.resolved;
  };

  for (const [name, v] of model.variables) {
    if (v.type !== 'datasource') continue;
    const query = typeof v.query === 'string' ? canonicalType(v.query) : undefined;
    if (query !== undefined && !provisionedTypes.has(query)) sink.add('dashboard-datasource', `datasource variable "$${name}" selects ${query} datasources, and none is provisioned`, `templating.list[name=${name}]`);
  }

  const variables = datasourceVariables(model);
  const panelCheck = panelDatasourceCheck(variables, sink);
  for (const p of model.panels) {
    const panel = resolve(p.json.datasource, () => `${p.describe}.datasource`);
    let panelUsed = false;
    for (const t of p.targets) {
      const own = t.json.datasource === undefined || t.json.datasource === null ? undefined : resolve(t.json.datasource, () => `${t.path}.datasource`);
      const type = own?.type ?? panel.type;
      if (type !== undefined) t.type = type;
      if (!p.queries || t.skipped) continue;
      if (own && own.via !== 'none') panelCheck(own, () => `${t.path}.datasource`);
      else if (!panelUsed) {
        panelUsed = true;
        panelCheck(panel, () => `${p.describe}.datasource`);
      }
    }
  }
  return resolve;
}

/** The datasource variables of a dashboard, by name, with the plugin type each selects. */
function datasourceVariables(model: DashboardModel): Map<string, string | undefined> {
  const out = new Map<string, string | undefined>();
  for (const [name, v] of model.variables) if (v.type === 'datasource') out.set(name, typeof v.query === 'string' ? canonicalType(v.query) : undefined);
  return out;
}

/**
 * panel-datasource: in a dashboard with a datasource variable, a panel that
 * runs queries on the default datasource or a literal uid of the type the
 * variable selects ignores the viewer's choice of datasource.
 */
function panelDatasourceCheck(variables: ReadonlyMap<string, string | undefined>, sink: FindingSink): (resolved: ResolvedDatasource, path: () => string) => void {
  if (variables.size === 0) return () => undefined;
  const types = new Set(variables.values());
  const names = [...variables.keys()].map((n) => `$${n}`).join(' or ');
  return (resolved, path) => {
    if (resolved.via === 'none') {
      sink.add('panel-datasource', `runs its queries on Grafana's default datasource, not on the dashboard's datasource variable ${names}`, path());
    } else if (resolved.via === 'literal' && (resolved.type === undefined || types.has(resolved.type) || types.has(undefined))) {
      sink.add('panel-datasource', `names the datasource "${resolved.uid}" directly, not the dashboard's datasource variable ${names}: the viewer's choice does not reach it`, path());
    }
  };
}

/** Query languages whose dashboards dashboard-linter expects to select their datasource through a variable. */
const TEMPLATED_TYPES = new Set(['prometheus', 'loki']);

/**
 * template-datasource: a dashboard with Prometheus or Loki queries has a
 * datasource variable (policy: the dashboard then works on any Grafana), named
 * `datasource` or `<type>_datasource` when it is the only one of its type,
 * else `<type>_datasource` (info).
 */
export function checkTemplateDatasource(model: DashboardModel, sink: FindingSink): void {
  const variables = datasourceVariables(model);
  const queried = new Set<string>();
  for (const p of model.panels) if (p.queries) for (const t of p.targets) if (!t.skipped && t.type !== undefined && TEMPLATED_TYPES.has(t.type)) queried.add(t.type);
  if (variables.size === 0) {
    if (queried.size > 0) sink.add('template-datasource', `has ${[...queried].sort().join(' and ')} queries but no datasource variable: it only works against the datasource it names`, 'templating');
    return;
  }
  for (const [name, type] of variables) {
    if (type === undefined || !TEMPLATED_TYPES.has(type)) continue;
    const sameType = [...variables.values()].filter((t) => t === type).length;
    const allowed = sameType === 1 ? ['datasource', `${type}_datasource`] : [`${type}_datasource`];
    if (!allowed.includes(name)) sink.add('template-datasource', `datasource variable "$${name}" should be named ${allowed.map((a) => `"${a}"`).join(' or ')} (dashboard-linter's convention)`, `templating.list[name=${name}]`, 'info');
  }
}
