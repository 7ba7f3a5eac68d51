import type { Finding } from './finding.js';
import { parsePromQL } from './promql-parse.js';

/** A datasource Grafana provisions: what a panel may name. */
export interface ProvisionedDatasource {
  readonly uid: string;
  readonly type: string;
}

export interface DashboardCheckOptions {
  /** The datasources provisioned; a panel on any other is a finding. */
  readonly datasources: readonly ProvisionedDatasource[];
  /** Whether a metric name is known (the metric catalog, recording rules); without it metrics are not checked. */
  readonly knownMetric?: (metric: string) => boolean;
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

const CONFIGMAP_LIMIT = 1024 * 1024;
const GRID_COLUMNS = 24;

/** Grafana's built-in datasources, which are never provisioned. */
const BUILT_IN = new Set(['-- Mixed --', '-- Grafana --', '-- Dashboard --', 'grafana', '__expr__', 'expr']);

/** Plugin ids that name the same datasource (Grafana renamed its core SQL plugins). */
const TYPE_ALIASES: Readonly<Record<string, string>> = {
  postgres: 'grafana-postgresql-datasource',
  mysql: 'grafana-mysql-datasource',
};
const canonicalType = (t: string) => TYPE_ALIASES[t] ?? t;

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const asArray = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

/** `$name`, `${name}`, `${name:format}` or `[[name]]` when the whole text is one variable; the variable's name. */
export function variableName(text: string): string | undefined {
  const m = /^\$\{([A-Za-z0-9_]+)(?::[^}]*)?\}$|^\$([A-Za-z0-9_]+)$|^\[\[([A-Za-z0-9_]+)(?::[^\]]*)?\]\]$/.exec(text.trim());
  return m ? (m[1] ?? m[2] ?? m[3]) : undefined;
}

/** Grafana's global variables that stand for a duration in PromQL. */
const DURATION_VARIABLES = /^__(rate_interval|interval|range|auto(_interval_\w+)?)$/;
/** Global variables that stand for a number. */
const NUMBER_VARIABLES = /^__(interval_ms|range_s|range_ms|rate_interval_ms)$/;
/** Placeholder for a variable that stands for part of a name: a selector containing it is not looked up. */
export const NAME_PLACEHOLDER = 'obstack_template_variable';

const VARIABLE = /\$\{([A-Za-z0-9_.]+)(?::[^}]*)?\}|\$([A-Za-z_][A-Za-z0-9_]*)|\[\[([A-Za-z0-9_]+)(?::[^\]]*)?\]\]/g;

/**
 * Replaces Grafana template variables in a PromQL expression by something of
 * the right kind for where they stand, so that the result parses exactly when
 * the query would parse once Grafana interpolates it: a duration inside `[…]`
 * or after `offset`, a label inside grouping parentheses, a name fragment
 * next to a name, any text inside a string, a number elsewhere.
 */
export function substituteVariables(expr: string): string {
  let out = '';
  let last = 0;
  let inString: string | undefined;
  let scanned = 0;
  // Tracks whether a position is inside a string literal, scanning forward once.
  const advance = (to: number) => {
    for (let i = scanned; i < to; i++) {
      const c = expr[i];
      if (inString) {
        if (c === '\\' && inString !== '`') i++;
        else if (c === inString) inString = undefined;
      } else if (c === '"' || c === "'" || c === '`') {
        inString = c;
      }
    }
    scanned = Math.max(scanned, to);
  };
  for (const m of expr.matchAll(VARIABLE)) {
    const at = m.index;
    const name = m[1] ?? m[2] ?? m[3] ?? '';
    advance(at);
    const before = expr.slice(0, at);
    const after = expr.slice(at + m[0].length);
    let value: string;
    if (inString) value = 'x';
    else if (DURATION_VARIABLES.test(name) || /\[\s*$/.test(before) || /^\s*[\]:]/.test(after) || /\boffset\s+-?$/.test(before)) value = '5m';
    else if (NUMBER_VARIABLES.test(name)) value = '300';
    else if (/\b(by|without|on|ignoring|group_left|group_right)\s*\([^()]*$/.test(before)) value = 'template_label';
    else if (/[A-Za-z0-9_:]$/.test(before) || /^[A-Za-z0-9_:{]/.test(after)) value = NAME_PLACEHOLDER;
    else value = '1';
    out += expr.slice(last, at) + value;
    last = at + m[0].length;
    // A replacement never changes whether what follows is inside a string.
    scanned = at + m[0].length;
  }
  return out + expr.slice(last);
}

/** The PromQL inside a Prometheus variable query (`label_values(expr, label)`, `query_result(expr)`), if any. */
export function variableQueryExpr(query: string): string | undefined {
  const q = query.trim();
  const result = /^query_result\(([\s\S]*)\)$/.exec(q);
  if (result) return result[1];
  const values = /^label_values\(([\s\S]*),\s*[A-Za-z_][A-Za-z0-9_]*\s*\)$/.exec(q);
  if (values) return values[1];
  return undefined;
}

interface PanelJson {
  readonly path: string;
  readonly panel: Json;
}

/** Every panel with its path, rows' nested panels included. */
function panelsOf(dashboard: Json): PanelJson[] {
  const out: PanelJson[] = [];
  const walk = (list: unknown, prefix: string) => {
    asArray(list).forEach((p, i) => {
      if (!isObject(p)) return;
      const path = `${prefix}[${i}]`;
      out.push({ path, panel: p });
      walk(p.panels, `${path}.panels`);
    });
  };
  walk(dashboard.panels, 'panels');
  // Dashboards older than schema 16 keep panels in rows[].panels.
  asArray(dashboard.rows).forEach((r, i) => {
    if (isObject(r)) walk(r.panels, `rows[${i}].panels`);
  });
  return out;
}

const describe = (p: PanelJson) => `${p.path}${typeof p.panel.title === 'string' && p.panel.title ? ` "${p.panel.title}"` : ''}`;

interface Box {
  readonly x: number;
  readonly y: number;
  readonly w: number;
  readonly h: number;
}

function gridPos(panel: Json): Box | undefined {
  const g = panel.gridPos;
  if (!isObject(g)) return undefined;
  const [x, y, w, h] = [g.x, g.y, g.w, g.h].map((n) => (typeof n === 'number' ? n : NaN));
  if ([x, y, w, h].some((n) => Number.isNaN(n))) return undefined;
  return { x: x!, y: y!, w: w!, h: h! };
}

const overlaps = (a: Box, b: Box) => a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;

/**
 * Checks one dashboard: datasources provisioned and reached through
 * variables, panel ids unique, panels inside the grid and not overlapping,
 * every PromQL query parsing once template variables are substituted, every
 * metric known, and the JSON small enough for its ConfigMap.
 */
export function checkDashboard(source: DashboardSource, opts: DashboardCheckOptions): Finding[] {
  const findings: Finding[] = [];
  let dashboard: unknown;
  try {
    dashboard = JSON.parse(source.json);
  } catch (e) {
    return [{ check: 'dashboard-json', object: source.name, message: `is not JSON: ${(e as Error).message}` }];
  }
  if (!isObject(dashboard)) return [{ check: 'dashboard-json', object: source.name, message: 'is not a JSON object' }];
  // An exported dashboard may be wrapped as { dashboard: {...} } (the HTTP API's shape).
  if (isObject(dashboard.dashboard) && dashboard.panels === undefined) dashboard = dashboard.dashboard as Json;
  const d = dashboard as Json;
  const object = source.name;
  const add = (check: string, message: string, path?: string) => findings.push({ check, object, ...(path !== undefined ? { path } : {}), message });

  const bytes = Buffer.byteLength(source.json, 'utf8');
  const maxBytes = opts.maxBytes ?? CONFIGMAP_LIMIT - 4096;
  if (bytes > maxBytes) add('dashboard-size', `is ${bytes} bytes; its ConfigMap must stay under ${CONFIGMAP_LIMIT} bytes (1 MiB): split the dashboard`);

  if (typeof d.uid !== 'string' || d.uid === '') add('dashboard-uid', 'has no uid: Grafana would give it a new one on every load, breaking links to it');
  else if (d.uid.length > 40) add('dashboard-uid', `uid "${d.uid}" is longer than Grafana's 40 characters`, 'uid');

  // Variables, and the datasource types their datasource variables select.
  const variables = new Map<string, Json>();
  asArray(isObject(d.templating) ? d.templating.list : undefined).forEach((v) => {
    if (isObject(v) && typeof v.name === 'string') variables.set(v.name, v);
  });
  const provisionedTypes = new Set(opts.datasources.map((ds) => canonicalType(ds.type)));
  const provisionedUids = new Map(opts.datasources.map((ds) => [ds.uid, canonicalType(ds.type)]));
  const provisionedNames = new Set(opts.datasources.map((ds) => ds.uid));

  /** Resolves a datasource reference to its plugin type, adding findings for what is not provisioned; undefined when unknown. */
  const resolve = (ref: unknown, path: string): string | undefined => {
    if (ref === undefined || ref === null) return undefined;
    const uid = isObject(ref) ? (typeof ref.uid === 'string' ? ref.uid : undefined) : typeof ref === 'string' ? ref : undefined;
    const type = isObject(ref) && typeof ref.type === 'string' ? canonicalType(ref.type) : undefined;
    if (uid === undefined) {
      if (type !== undefined && type !== 'datasource' && !provisionedTypes.has(type)) add('dashboard-datasource', `uses a ${type} datasource, and none is provisioned`, path);
      return type;
    }
    if (BUILT_IN.has(uid) || type === 'datasource') return type;
    const name = variableName(uid);
    if (name !== undefined) {
      const variable = variables.get(name);
      if (!variable) {
        add('dashboard-datasource', `refers to the variable "$${name}", which the dashboard does not define`, path);
        return type;
      }
      if (variable.type !== 'datasource') return type;
      const query = typeof variable.query === 'string' ? canonicalType(variable.query) : undefined;
      if (query !== undefined && type !== undefined && query !== type) {
        add('dashboard-datasource', `says its datasource is ${type} but the variable "$${name}" selects ${query} datasources`, path);
      }
      return query ?? type;
    }
    if (opts.requireDatasourceVariable) add('dashboard-datasource', `names the datasource uid "${uid}" directly; use a datasource variable so the dashboard can be imported anywhere`, path);
    const provisioned = provisionedUids.get(uid);
    if (provisioned === undefined && !provisionedNames.has(uid)) {
      add('dashboard-datasource', `uses the datasource "${uid}", which is not provisioned (provisioned: ${[...provisionedUids.keys()].join(', ') || 'none'})`, path);
      return type;
    }
    return provisioned ?? type;
  };

  const checkPromQL = (expr: string, path: string) => {
    const substituted = substituteVariables(expr);
    const parsed = parsePromQL(substituted);
    if (parsed.errors.length > 0) {
      add('dashboard-promql', `does not parse (${parsed.errors[0]}${substituted !== expr ? ' after substituting template variables' : ''}): ${expr.length > 160 ? `${expr.slice(0, 157)}...` : expr}`, path);
      return;
    }
    if (!opts.knownMetric) return;
    const unknown = new Set<string>();
    for (const s of parsed.selectors) {
      if (s.metric === undefined || s.metric.includes(NAME_PLACEHOLDER)) continue;
      if (!opts.knownMetric(s.metric)) unknown.add(s.metric);
    }
    for (const m of unknown) add('dashboard-metric', `reads "${m}", which no scraped component exposes and no recording rule records`, path);
  };

  for (const [name, v] of variables) {
    const path = `templating.list[name=${name}]`;
    if (v.type === 'datasource') {
      const query = typeof v.query === 'string' ? canonicalType(v.query) : undefined;
      if (query !== undefined && !provisionedTypes.has(query)) add('dashboard-datasource', `datasource variable "$${name}" selects ${query} datasources, and none is provisioned`, path);
      continue;
    }
    if (v.type !== 'query') continue;
    const type = resolve(v.datasource, `${path}.datasource`);
    const query = typeof v.query === 'string' ? v.query : isObject(v.query) && typeof v.query.query === 'string' ? v.query.query : undefined;
    if (query === undefined || (type !== undefined && type !== 'prometheus')) continue;
    const expr = variableQueryExpr(query);
    if (expr !== undefined) checkPromQL(expr, `${path}.query`);
  }

  const panels = panelsOf(d);
  const ids = new Map<number, string>();
  for (const p of panels) {
    const id = p.panel.id;
    if (typeof id === 'number') {
      const first = ids.get(id);
      if (first !== undefined) add('dashboard-panel-id', `has id ${id}, already used by ${first}`, describe(p));
      else ids.set(id, describe(p));
    }
    const panelType = resolve(p.panel.datasource, `${describe(p)}.datasource`);
    asArray(p.panel.targets).forEach((t, i) => {
      if (!isObject(t)) return;
      const tpath = `${describe(p)}.targets[${i}]`;
      const type = resolve(t.datasource, `${tpath}.datasource`) ?? panelType;
      if (typeof t.expr === 'string' && (type === undefined || type === 'prometheus')) checkPromQL(t.expr, tpath);
    });
  }

  // Grafana compacts the grid vertically: a panel placed over the one above it is pushed down, which the
  // corpus relies on (grafonnet emits such positions). What it cannot honour is two panels put side by side
  // on the same line whose columns collide: one of them lands below the other. Rows take a line of their own
  // and push what shares it down, so they are left out. A collapsed row's panels are a grid of their own.
  const checkGrid = (list: readonly PanelJson[]) => {
    const placed: Array<{ p: PanelJson; box: Box }> = [];
    for (const p of list) {
      if (p.panel.type === 'row') continue;
      const box = gridPos(p.panel);
      if (!box) continue;
      if (box.x < 0 || box.w <= 0 || box.x + box.w > GRID_COLUMNS) add('dashboard-grid', `spans columns ${box.x} to ${box.x + box.w}, outside the grid's ${GRID_COLUMNS} columns`, describe(p));
      for (const other of placed) {
        if (box.y === other.box.y && overlaps(box, other.box)) {
          add('dashboard-grid', `overlaps ${describe(other.p)} on the same line (x=${box.x} w=${box.w} against x=${other.box.x} w=${other.box.w}, both at y=${box.y})`, describe(p));
        }
      }
      placed.push({ p, box });
    }
  };
  const top = panels.filter((p) => /^panels\[\d+\]$/.test(p.path));
  checkGrid(top);
  for (const row of top) {
    if (row.panel.type !== 'row' || asArray(row.panel.panels).length === 0) continue;
    checkGrid(panels.filter((p) => p.path.startsWith(`${row.path}.panels[`) && !p.path.slice(row.path.length + 8).includes('.')));
  }
  return findings;
}

/** Checks several dashboards, and that no two share a uid. */
export function checkDashboards(sources: readonly DashboardSource[], opts: DashboardCheckOptions): Finding[] {
  const findings: Finding[] = [];
  const uids = new Map<string, string>();
  for (const s of sources) {
    findings.push(...checkDashboard(s, opts));
    let uid: unknown;
    try {
      const parsed = JSON.parse(s.json) as Json;
      uid = parsed.uid ?? (isObject(parsed.dashboard) ? parsed.dashboard.uid : undefined);
    } catch {
      continue;
    }
    if (typeof uid !== 'string' || uid === '') continue;
    const first = uids.get(uid);
    if (first !== undefined) findings.push({ check: 'dashboard-uid', object: s.name, path: 'uid', message: `uid "${uid}" is also the uid of ${first}; Grafana would keep only one of them` });
    else uids.set(uid, s.name);
  }
  return findings;
}
