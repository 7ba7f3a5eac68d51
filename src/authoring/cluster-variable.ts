import { QueryVariableBuilder, VariableRefresh, VariableSort } from '@grafana/grafana-foundation-sdk/dashboard';
import type { SyntaxNode } from '@lezer/common';
import { parser } from '@prometheus-io/lezer-promql';
import { syntaxError, unquote } from './lezer-text.js';
import { variableUses, type VariablePosition } from './template-variables.js';

/**
 * The `cluster` template variable of multi-cluster dashboards. Behind a global
 * query layer (Thanos Query over one Prometheus per cluster) every series
 * carries its Prometheus's external label `cluster`; the variable picks the
 * clusters a dashboard shows. "All" stands for `.*`, which also matches
 * series without the label, so the same dashboard still works on a single
 * Prometheus.
 */
export const CLUSTER_VARIABLE = 'cluster';
/** The query listing the clusters: every Prometheus scrapes itself, so `up` exists in each. */
export const CLUSTER_VARIABLE_QUERY = `label_values(up, ${CLUSTER_VARIABLE})`;
/** The matcher the pass adds to every Prometheus selector. */
export const CLUSTER_MATCHER = `${CLUSTER_VARIABLE}=~"$${CLUSTER_VARIABLE}"`;

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Same-length text that parses where Grafana's value would, by what the variable's position needs. */
const MASK: Readonly<Record<Exclude<VariablePosition, 'quoted'>, (length: number) => string>> = {
  duration: (n) => '1s'.padEnd(n, ' '),
  number: (n) => '1'.padEnd(n, ' '),
  value: (n) => '1'.padEnd(n, ' '),
  label: (n) => 'x'.repeat(n),
  name: (n) => 'x'.repeat(n),
};

/**
 * The expression with each template variable outside strings and comments
 * replaced by text of the same length that parses where Grafana's value
 * would (`variableUses` says which kind), so that offsets in the masked text
 * are offsets in the original.
 */
function maskVariables(expr: string): string {
  let out = '';
  let last = 0;
  for (const u of variableUses(expr)) {
    if (u.position === 'quoted') continue;
    out += expr.slice(last, u.at) + MASK[u.position](u.end - u.at);
    last = u.end;
  }
  return out + expr.slice(last);
}

/** The first syntax error of a parsed expression, as "at offset N: unexpected …". */
function firstError(masked: string): string | undefined {
  let error: string | undefined;
  parser.parse(masked).iterate({
    enter(ref) {
      if (error === undefined && ref.type.isError) error = syntaxError(masked, ref.from);
      return error === undefined;
    },
  });
  return error;
}

/** The names of a selector's label matchers, as written. */
function matcherNames(selector: SyntaxNode, expr: string): string[] {
  const list = selector.getChild('LabelMatchers');
  if (!list) return [];
  return [...list.getChildren('UnquotedLabelMatcher'), ...list.getChildren('QuotedLabelMatcher')].flatMap((m) => {
    const name = m.getChild('LabelName') ?? m.getChild('QuotedLabelName');
    if (!name) return [];
    const text = expr.slice(name.from, name.to);
    return [name.name === 'QuotedLabelName' ? unquote(text) : text];
  });
}

/**
 * Adds `matcher` (by default `cluster=~"$cluster"`) to every vector selector
 * of a PromQL expression, found by parsing it, not by searching its text:
 * `x` becomes `x{m}`, `x{a="b"}` becomes `x{a="b", m}`. A selector that
 * already matches on the label keeps its matcher. Grafana variables may stand
 * anywhere Grafana allows them. Throws when the expression does not parse.
 */
export function withClusterMatcher(expr: string, matcher: string = CLUSTER_MATCHER): string {
  const label = /^\s*([A-Za-z_][A-Za-z0-9_]*)/.exec(matcher)?.[1];
  if (!label) throw new Error(`the matcher must start with a label name, got ${JSON.stringify(matcher)}`);
  const masked = maskVariables(expr);
  const error = firstError(masked);
  if (error !== undefined) throw new Error(`cannot add ${matcher} to a query that does not parse (${error}): ${expr}`);
  const edits: Array<{ at: number; text: string }> = [];
  parser.parse(masked).iterate({
    enter(ref) {
      if (ref.name !== 'VectorSelector') return true;
      const node = ref.node;
      if (matcherNames(node, expr).includes(label)) return false;
      const list = node.getChild('LabelMatchers');
      if (!list) {
        edits.push({ at: node.to, text: `{${matcher}}` });
        return false;
      }
      const close = list.to - 1;
      const inside = expr.slice(list.from + 1, close);
      if (inside.trim() === '') edits.push({ at: list.from + 1, text: matcher });
      else edits.push({ at: close, text: inside.trimEnd().endsWith(',') ? ` ${matcher}` : `, ${matcher}` });
      return false;
    },
  });
  let out = expr;
  for (const e of edits.sort((a, b) => b.at - a.at)) out = out.slice(0, e.at) + e.text + out.slice(e.at);
  return out;
}

/** A Prometheus variable query with the matcher added to its series selector (`label_values(sel, l)`, `query_result(expr)`); other forms as they are. */
function variableQueryWithMatcher(query: string): string {
  const values = /^(\s*label_values\()([\s\S]*)(,\s*[A-Za-z_][A-Za-z0-9_]*\s*\)\s*)$/.exec(query);
  if (values) return `${values[1]}${withClusterMatcher(values[2]!)}${values[3]}`;
  const result = /^(\s*query_result\()([\s\S]*)(\)\s*)$/.exec(query);
  if (result) return `${result[1]}${withClusterMatcher(result[2]!)}${result[3]}`;
  return query;
}

/** A built dashboard as the SDK's `build()` returns it, the parts the pass reads. */
export interface DashboardJsonLike {
  uid?: string;
  templating?: { list?: Json[] };
  panels?: Json[];
  annotations?: { list?: Json[] };
}

/**
 * Makes a built dashboard multi-cluster, in place: when it queries Prometheus,
 * adds the `cluster` variable after its datasource variables and the
 * `cluster=~"$cluster"` matcher to every selector of its Prometheus queries
 * (panel targets, nested ones, annotations and the other query variables).
 * A dashboard that already has a `cluster` variable, or no Prometheus query,
 * is left as it is. Returns whether the dashboard changed.
 */
export function addClusterVariable(dashboard: DashboardJsonLike): boolean {
  const variables = dashboard.templating?.list ?? [];
  if (variables.some((v) => v.name === CLUSTER_VARIABLE)) return false;
  /** Datasource variables that stand for a Prometheus, by name. */
  const promVariables = new Set(variables.filter((v) => v.type === 'datasource' && v.query === 'prometheus').map((v) => String(v.name)));
  const isPrometheus = (ref: unknown): boolean => {
    if (!isObject(ref)) return false;
    if (ref.type === 'prometheus') return true;
    const uid = typeof ref.uid === 'string' ? /^\$\{?([A-Za-z0-9_]+)\}?$/.exec(ref.uid)?.[1] : undefined;
    return ref.type === undefined && uid !== undefined && promVariables.has(uid);
  };
  const where = (path: string, rewrite: () => void) => {
    try {
      rewrite();
    } catch (e) {
      throw new Error(`dashboard ${dashboard.uid ?? '(no uid)'}, ${path}: ${(e as Error).message}`);
    }
  };

  let datasource: unknown;
  const rewriteTargets = (panels: readonly Json[] | undefined, path: string): void => {
    for (const panel of panels ?? []) {
      const title = `${path}panel "${String(panel.title ?? panel.id ?? '')}"`;
      const targets = Array.isArray(panel.targets) ? (panel.targets as unknown[]) : [];
      for (const target of targets) {
        if (!isObject(target) || typeof target.expr !== 'string') continue;
        const ref = target.datasource ?? panel.datasource;
        if (!isPrometheus(ref)) continue;
        datasource ??= ref;
        where(`${title}, query ${String(target.refId ?? '')}`, () => (target.expr = withClusterMatcher(target.expr as string)));
      }
      if (Array.isArray(panel.panels)) rewriteTargets(panel.panels as Json[], `${title} > `);
    }
  };
  rewriteTargets(dashboard.panels, '');
  for (const a of dashboard.annotations?.list ?? []) {
    if (typeof a.expr !== 'string' || !isPrometheus(a.datasource)) continue;
    datasource ??= a.datasource;
    where(`annotation "${String(a.name ?? '')}"`, () => (a.expr = withClusterMatcher(a.expr as string)));
  }
  for (const v of variables) {
    if (v.type !== 'query' || !isPrometheus(v.datasource)) continue;
    datasource ??= v.datasource;
    where(`variable ${String(v.name)}`, () => {
      if (typeof v.query === 'string') {
        const query = variableQueryWithMatcher(v.query);
        if (v.definition === v.query) v.definition = query;
        v.query = query;
      } else if (isObject(v.query) && typeof v.query.query === 'string') {
        const query = variableQueryWithMatcher(v.query.query);
        if (v.definition === v.query.query) v.definition = query;
        v.query.query = query;
      }
    });
  }
  if (datasource === undefined) return false;

  const variable = new QueryVariableBuilder(CLUSTER_VARIABLE)
    .label(CLUSTER_VARIABLE)
    .datasource(datasource as { type?: string; uid?: string })
    .query(CLUSTER_VARIABLE_QUERY)
    .definition(CLUSTER_VARIABLE_QUERY)
    .refresh(VariableRefresh.OnTimeRangeChanged)
    .sort(VariableSort.AlphabeticalAsc)
    .multi(true)
    .includeAll(true)
    .allValue('.*')
    .current({ selected: true, text: 'All', value: '$__all' })
    .build() as unknown as Json;
  // After the datasource variables, before the variables whose queries now read it.
  const at = variables.findIndex((v) => v.type !== 'datasource');
  const list = [...variables];
  list.splice(at === -1 ? list.length : at, 0, variable);
  dashboard.templating = { ...dashboard.templating, list };
  return true;
}
