import { parse } from 'yaml';

type Json = Record<string, unknown>;

/** One PromQL expression of a shipped rule or dashboard panel. */
export interface Query {
  /** `rules/slos.yaml: ApiErrorBudgetBurn` or `dashboards/obstack-slos.json: Error budget left`. */
  readonly source: string;
  readonly dashboard?: string;
  readonly expr: string;
}

/** Every alert and recording rule expression of the synthesized rule files. */
export function ruleQueries(files: ReadonlyMap<string, string>): Query[] {
  const out: Query[] = [];
  for (const [path, text] of files) {
    if (!path.startsWith('rules/')) continue;
    const doc = parse(text) as { groups?: { rules?: { alert?: string; record?: string; expr: string }[] }[] };
    for (const g of doc.groups ?? []) for (const r of g.rules ?? []) out.push({ source: `${path}: ${r.alert ?? r.record}`, expr: String(r.expr) });
  }
  return out;
}

/** The values dashboard variables take in the run: the application's service and namespace, Grafana's intervals. */
export function variableValues(app: { namespace: string; service: string; job: string }): Record<string, string> {
  return {
    __rate_interval: '1m',
    __interval: '15s',
    __interval_ms: '15000',
    __range: '5m',
    __range_s: '300',
    __range_ms: '300000',
    namespace: app.namespace,
    service: app.service,
    job: app.job,
  };
}

/** Substitutes `$var`, `${var}`, `${var:format}` and `[[var]]`; a variable without a value becomes `.*` (Grafana's "All"). */
export function substitute(expr: string, values: Readonly<Record<string, string>>): string {
  const value = (name: string) => values[name] ?? '.*';
  return expr
    .replace(/\$\{(\w+)(?::[^}]*)?\}/g, (_, n: string) => value(n))
    .replace(/\[\[(\w+)\]\]/g, (_, n: string) => value(n))
    .replace(/\$(\w+)/g, (_, n: string) => value(n));
}

/** Whether a panel target is a Prometheus query (its datasource, or the dashboard's `$datasource` of type prometheus). */
function isPrometheus(target: Json, panel: Json, promVariables: ReadonlySet<string>): boolean {
  const ds = (target['datasource'] ?? panel['datasource']) as Json | string | undefined;
  if (typeof target['expr'] !== 'string') return false;
  if (ds === undefined) return true;
  if (typeof ds === 'string') return ds === 'prometheus' || promVariables.has(ds.replace(/^\$\{?|\}$/g, ''));
  if (ds['type'] === 'prometheus') return true;
  const uid = String(ds['uid'] ?? '');
  return promVariables.has(uid.replace(/^\$\{?|\}$/g, ''));
}

/** Every Prometheus query of the synthesized dashboards' panels, and how many targets of other datasources there were. */
export function dashboardQueries(files: ReadonlyMap<string, string>): { queries: Query[]; otherTargets: number } {
  const queries: Query[] = [];
  let otherTargets = 0;
  for (const [path, text] of files) {
    if (!path.startsWith('dashboards/')) continue;
    const d = JSON.parse(text) as Json;
    const vars = (((d['templating'] as Json | undefined)?.['list'] ?? []) as Json[]);
    const promVariables = new Set(vars.filter((v) => v['type'] === 'datasource' && v['query'] === 'prometheus').map((v) => String(v['name'])));
    const walk = (panels: Json[]) => {
      for (const p of panels) {
        walk((p['panels'] ?? []) as Json[]);
        for (const t of (p['targets'] ?? []) as Json[]) {
          if (isPrometheus(t, p, promVariables)) queries.push({ source: `${path}: ${String(p['title'] ?? '')}`, dashboard: String(d['uid']), expr: String(t['expr']) });
          else otherTargets++;
        }
      }
    };
    walk((d['panels'] ?? []) as Json[]);
  }
  return { queries, otherTargets };
}

export interface QueryResult {
  readonly ok: boolean;
  readonly series: number;
  readonly error?: string;
}

/** Runs one instant query on Prometheus's HTTP API. */
export async function runQuery(prometheus: string, expr: string): Promise<QueryResult> {
  const res = await fetch(`${prometheus}/api/v1/query`, { method: 'POST', body: new URLSearchParams({ query: expr }), signal: AbortSignal.timeout(20_000) });
  const body = (await res.json()) as { status: string; error?: string; data?: { resultType: string; result: unknown } };
  if (body.status !== 'success') return { ok: false, series: 0, error: body.error ?? `HTTP ${res.status}` };
  const r = body.data?.result;
  return { ok: true, series: Array.isArray(r) ? r.length : r === undefined ? 0 : 1 };
}
