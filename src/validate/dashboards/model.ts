export type Json = Record<string, unknown>;
export const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
export const asArray = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
export const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

/** Panel types that show no query results: Grafana never runs targets they may still carry. */
const NO_QUERY_PANELS = new Set(['row', 'text', 'news', 'dashlist', 'alertlist', 'annolist', 'welcome', 'gettingstarted', 'pluginlist', 'grafana-clock-panel']);

/** Panel types that plot or tabulate query results (the ones dashboard-linter's panel rules look at, and their newer kin). */
export const DATA_PANELS = new Set([
  'timeseries',
  'graph',
  'stat',
  'singlestat',
  'gauge',
  'bargauge',
  'table',
  'table-old',
  'barchart',
  'heatmap',
  'piechart',
  'histogram',
  'state-timeline',
  'status-history',
  'trend',
  'xychart',
  'candlestick',
]);

export interface TargetModel {
  readonly path: string;
  readonly index: number;
  readonly json: Json;
  /** The query text (`expr`), when it has one. */
  readonly expr?: string;
  /** Grafana does not run it: hidden, or empty. Hidden targets an expression of the same panel reads still run. */
  readonly skipped: boolean;
  /** The datasource plugin type, once resolved (the target's own, else its panel's). */
  type?: string;
}

export interface PanelModel {
  readonly path: string;
  /** The panels nested in this one (a row's), in order. */
  readonly children: PanelModel[];
  /** The path and title, for messages. */
  readonly describe: string;
  readonly json: Json;
  readonly type: string;
  /** Whether Grafana runs this panel's queries: not a row or text panel, not a library panel reference, not a saved repeat copy. */
  readonly queries: boolean;
  readonly targets: readonly TargetModel[];
}

export interface DashboardModel {
  readonly json: Json;
  readonly variables: ReadonlyMap<string, Json>;
  /** Every panel, nested ones included, in document order. */
  readonly panels: readonly PanelModel[];
  /** The panels of `panels: […]` itself (not of rows, nor of schema-16 `rows`). */
  readonly top: readonly PanelModel[];
}

/** Every panel with its path, rows' nested panels included. */
function panelsOf(dashboard: Json): { panels: PanelModel[]; top: PanelModel[] } {
  const out: PanelModel[] = [];
  const walk = (list: unknown, prefix: string, into: PanelModel[]) => {
    asArray(list).forEach((p, i) => {
      if (!isObject(p)) return;
      const path = `${prefix}[${i}]`;
      const title = str(p.title);
      const describe = `${path}${title ? ` "${title}"` : ''}`;
      const type = str(p.type) ?? '';
      const targets = asArray(p.targets);
      // A server-side expression reads the panel's other queries, hidden ones included.
      const expressions = targets.some((t) => isObject(t) && isObject(t.datasource) && (t.datasource.type === '__expr__' || t.datasource.uid === '__expr__'));
      const queries = !NO_QUERY_PANELS.has(type) && p.repeatPanelId === undefined && !(isObject(p.libraryPanel) && targets.length === 0);
      const model: PanelModel = {
        path,
        children: [],
        describe,
        json: p,
        type,
        queries,
        targets: targets.flatMap((t, index) => {
          if (!isObject(t)) return [];
          const expr = str(t.expr);
          const skipped = (t.hide === true && !expressions) || expr === undefined || expr.trim() === '';
          return [{ path: `${describe}.targets[${index}]`, index, json: t, ...(expr !== undefined ? { expr } : {}), skipped }];
        }),
      };
      out.push(model);
      into.push(model);
      walk(p.panels, `${path}.panels`, model.children);
    });
  };
  const top: PanelModel[] = [];
  walk(dashboard.panels, 'panels', top);
  // Dashboards older than schema 16 keep panels in rows[].panels.
  asArray(dashboard.rows).forEach((r, i) => {
    if (isObject(r)) walk(r.panels, `rows[${i}].panels`, []);
  });
  return { panels: out, top };
}

/** The dashboard object of a JSON text (the HTTP API's `{ dashboard: … }` wrapper unwrapped), or why there is none. */
export function dashboardJson(text: string): { json: Json } | { error: string } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    return { error: `is not JSON: ${(e as Error).message}` };
  }
  if (!isObject(parsed)) return { error: 'is not a JSON object' };
  if (isObject(parsed.dashboard) && parsed.panels === undefined) return { json: parsed.dashboard };
  return { json: parsed };
}

export function dashboardModel(json: Json): DashboardModel {
  const variables = new Map<string, Json>();
  asArray(isObject(json.templating) ? json.templating.list : undefined).forEach((v) => {
    if (isObject(v) && typeof v.name === 'string') variables.set(v.name, v);
  });
  return { json, variables, ...panelsOf(json) };
}

/** A query variable's query text (a string, or the `query` of Grafana's newer object form). */
export function variableQuery(v: Json): string | undefined {
  return str(v.query) ?? (isObject(v.query) ? str(v.query.query) : undefined);
}
