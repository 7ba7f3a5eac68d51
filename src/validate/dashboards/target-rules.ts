import type { MetricType } from '../metric-catalog.js';
import { parseLogQL } from '../logql-parse.js';
import { type DashboardModel, type PanelModel, type TargetModel, str, variableQuery } from './model.js';
import { type PromQLFacts, type SelectorFact, promqlFacts } from './promql-facts.js';
import type { FindingSink } from './rule-table.js';
import { NAME_PLACEHOLDER, type Substitution, type SubstitutedSpan, type VariableValues, mentionsVariable, substitutions } from './variables.js';

/** A parsed query, with the substitution that made it parse. */
export interface CheckedQuery<F> {
  readonly facts: F;
  readonly substitution: Substitution;
}

/** Parses a PromQL expression of the dashboard, reporting under `check` when it does not parse; the facts when it does. */
export type PromQLCheck = (expr: string, path: string, check: 'target-promql' | 'template-label-promql') => CheckedQuery<PromQLFacts> | undefined;

const short = (expr: string) => (expr.length > 160 ? `${expr.slice(0, 157)}...` : expr);
const describeChoice = (chosen: ReadonlyMap<string, string>) =>
  [...chosen].map(([n, v]) => `$${n} = ${JSON.stringify(v)}`).join(', ');

/** What checking one query text found: the parse to read facts from, and the problems to report wherever the text stands. */
interface Outcome<F> {
  readonly ok?: CheckedQuery<F>;
  readonly problems: ReadonlyArray<{ readonly message: string; readonly level?: 'warning' }>;
}

/** Queries repeat within and across dashboards: each text (with the known values it depends on) is checked once. */
const outcomes = new Map<string, Outcome<unknown>>();

/**
 * Parses a query once per substitution of its template variables. It is
 * refused (error) when no substitution parses; when some known value of a
 * variable breaks it and another does not, that value is reported (warning):
 * choosing it breaks the panel.
 */
function outcomeOf<F extends { readonly errors: readonly string[] }>(parse: (text: string) => F, values: VariableValues, expr: string, language: 'PromQL' | 'LogQL'): Outcome<F> {
  const all = substitutions(expr, values);
  let ok: CheckedQuery<F> | undefined;
  const failed: Array<{ substitution: Substitution; error: string }> = [];
  for (const substitution of all) {
    const facts = parse(substitution.text);
    if (facts.errors.length === 0) ok ??= { facts, substitution };
    else failed.push({ substitution, error: facts.errors[0]! });
  }
  if (!ok) {
    const first = failed[0]!;
    const how = first.substitution.text === expr ? '' : first.substitution.chosen.size > 0 ? ` with ${describeChoice(first.substitution.chosen)}` : ' after substituting template variables';
    return { problems: [{ message: `is not valid ${language} (${first.error}${how}): ${short(expr)}` }] };
  }
  if (failed.length === 0) return { ok, problems: [] };
  const bad = failed.map((f) => describeChoice(f.substitution.chosen)).slice(0, 3);
  const message = `is not valid ${language} when ${bad.join(' or ')}${failed.length > 3 ? ` (and ${failed.length - 3} more)` : ''} (${failed[0]!.error}), though it is with ${describeChoice(ok.substitution.chosen)}: ${short(expr)}`;
  return { ok, problems: [{ message, level: 'warning' }] };
}

function checkQuery<F extends { readonly errors: readonly string[] }>(
  parse: (text: string) => F,
  values: VariableValues,
  signature: (expr: string) => string,
  sink: FindingSink,
  expr: string,
  path: string,
  check: 'target-promql' | 'template-label-promql' | 'target-logql',
): CheckedQuery<F> | undefined {
  const language = check === 'target-logql' ? 'LogQL' : 'PromQL';
  const key = `${language}\u0000${signature(expr)}\u0000${expr}`;
  let outcome = outcomes.get(key) as Outcome<F> | undefined;
  if (!outcome) {
    outcome = outcomeOf(parse, values, expr, language);
    if (outcomes.size >= 8192) outcomes.clear();
    outcomes.set(key, outcome);
  }
  for (const p of outcome.problems) sink.add(check, p.message, path, p.level);
  return outcome.ok;
}

/** The PromQL check of one dashboard: its variables' known values substituted, problems reported to its sink. */
export function promqlChecker(values: VariableValues, signature: (expr: string) => string, sink: FindingSink): PromQLCheck {
  return (expr, path, check) => checkQuery(promqlFacts, values, signature, sink, expr, path, check);
}

export interface TargetCheckOptions {
  /** Whether a metric name is known (the chosen catalog, recording rules); without it metrics are not checked. */
  readonly knownMetric?: (metric: string) => boolean;
  /** A metric's type from metadata (the catalog, a `# TYPE` dump); undefined when unknown. */
  readonly metricType?: (metric: string) => MetricType | undefined;
}

/** The variable a span of the substituted text came from, if any. */
const variableAt = (spans: readonly SubstitutedSpan[], from: number, to: number) => spans.find((s) => s.from < to && from < s.to)?.name;

/** Functions (and aggregations) that read a counter's raw value meaningfully: its increase, its presence, its sample times. */
const COUNTER_CONSUMERS = new Set(['rate', 'irate', 'increase', 'resets', 'changes', 'absent', 'absent_over_time', 'present_over_time', 'count_over_time', 'timestamp', 'count', 'group']);

/** target-counter-agg: every counter a target reads goes through rate(), irate() or increase(). */
function checkCounters(selectors: readonly SelectorFact[], opts: TargetCheckOptions, path: string, sink: FindingSink): void {
  let reported: Set<string> | undefined;
  for (const s of selectors) {
    const m = s.metric;
    if (m === undefined || (s.consumer !== undefined && COUNTER_CONSUMERS.has(s.consumer)) || reported?.has(m) || m.includes(NAME_PLACEHOLDER)) continue;
    const type = opts.metricType?.(m);
    const counter = type === 'counter' || (type === undefined && m.endsWith('_total'));
    if (!counter) continue;
    (reported ??= new Set()).add(m);
    const where = s.consumer !== undefined ? `in ${s.consumer}()` : 'as it is';
    sink.add('target-counter-agg', `reads the counter "${m}" ${where}: a counter's raw value only grows, read it through rate(), irate() or increase()${type === undefined ? ' (a counter by its _total name)' : ''}`, path);
  }
}

/** target-rate-interval: rate() and irate() over [$__rate_interval]; [$__interval] can be shorter than two scrapes and leave gaps. */
function checkRateIntervals(facts: PromQLFacts, substitution: Substitution, panel: PanelModel, target: TargetModel, sink: FindingSink): void {
  let seen: Set<string> | undefined;
  for (const r of facts.ranges) {
    if (r.fn !== 'rate' && r.fn !== 'irate') continue;
    const variable = variableAt(substitution.spans, r.from, r.to);
    // $__range is a deliberate choice: the rate over the whole time range shown.
    if (variable === '__rate_interval' || variable === '__range') continue;
    const key = `${r.fn} ${variable ?? r.text}`;
    if (seen?.has(key)) continue;
    (seen ??= new Set()).add(key);
    if (variable === '__interval' || variable === '__auto') {
      // A minimum interval on the query or panel keeps $__interval above the scrape interval the author chose.
      const minInterval = (str(target.json.interval) ?? '') !== '' || (str(panel.json.interval) ?? '') !== '';
      sink.add(
        'target-rate-interval',
        `${r.fn}() over [$${variable}]: at short time ranges $${variable} is one scrape interval and ${r.fn}() needs two samples, so the panel shows gaps; use [$__rate_interval]`,
        target.path,
        minInterval ? 'info' : 'warning',
      );
    } else if (variable !== undefined) {
      sink.add('target-rate-interval', `${r.fn}() over [$${variable}] rather than [$__rate_interval], which follows the time range and the scrape interval`, target.path);
    } else {
      sink.add('target-rate-interval', `${r.fn}() over a fixed [${r.text}] rather than [$__rate_interval], which follows the time range and the scrape interval`, target.path);
    }
  }
}

/** The metric family of a name: what comes before its first underscore (`node`, `apiserver`, `kube`). */
const family = (metric: string) => metric.split('_', 1)[0]!;

/**
 * target-job and target-instance. dashboard-linter wants every selector to
 * filter by `$job` and `$instance`; on real dashboards those pickers list the
 * jobs of one exporter, and series of other exporters must not be filtered by
 * them. So a selector that ignores the picker is reported only when its
 * metric is one the picker applies to: the dashboard filters the same metric
 * by it elsewhere, or the metric is of the family the variable's own query
 * reads (`label_values(node_uname_info, job)`: `node_*`).
 */
export function checkRequiredMatchers(model: DashboardModel, targets: ReadonlyArray<{ readonly path: string; readonly selectors: readonly SelectorFact[] }>, sink: FindingSink): void {
  for (const label of ['job', 'instance'] as const) {
    const variable = model.variables.get(label);
    if (!variable) continue;
    const filters = (s: SelectorFact) => s.matchers.some((m) => m.name === label && mentionsVariable(m.value, label));
    const filtered = new Set<string>();
    for (const t of targets) for (const s of t.selectors) if (s.metric !== undefined && filters(s)) filtered.add(s.metric);
    const query = variableQuery(variable);
    const source = query === undefined ? undefined : /^\s*label_values\(\s*([A-Za-z_:][A-Za-z0-9_:]*)/.exec(query)?.[1];
    // A recorded series (`level:metric:operations`) keeps only the labels its rule aggregates by: only its own use tells.
    const applies = (m: string) => filtered.has(m) || (source !== undefined && !m.includes(':') && family(m) === family(source));
    for (const t of targets) {
      const missing = t.selectors.filter((s) => s.metric !== undefined && !s.metric.includes(NAME_PLACEHOLDER) && !filters(s) && applies(s.metric));
      if (missing.length === 0) continue;
      const first = missing[0]!;
      const more = missing.length > 1 ? ` (and ${missing.length - 1} more selector${missing.length > 2 ? 's' : ''})` : '';
      sink.add(label === 'job' ? 'target-job' : 'target-instance', `${first.text} does not filter by the dashboard's $${label} variable (${label}=~"$${label}"), which applies to ${first.metric}${more}: the panel ignores that choice`, t.path);
    }
  }
}

/** Every check of one target, by its datasource's query language. */
export function checkTarget(
  panel: PanelModel,
  target: TargetModel,
  promql: PromQLCheck,
  values: VariableValues,
  signature: (expr: string) => string,
  opts: TargetCheckOptions,
  sink: FindingSink,
): PromQLFacts | undefined {
  if (!panel.queries || target.skipped || target.expr === undefined) return undefined;
  if (target.type === 'loki') {
    checkQuery(parseLogQL, values, signature, sink, target.expr, target.path, 'target-logql');
    return undefined;
  }
  if (target.type !== undefined && target.type !== 'prometheus') return undefined;
  const checked = promql(target.expr, target.path, 'target-promql');
  if (!checked) return undefined;
  const { facts, substitution } = checked;
  checkMetrics(facts.selectors, opts, target.path, sink);
  checkRateIntervals(facts, substitution, panel, target, sink);
  checkCounters(facts.selectors, opts, target.path, sink);
  return facts;
}

/** dashboard-metric: every metric read is known, when the user chose a catalog. */
export function checkMetrics(selectors: readonly SelectorFact[], opts: TargetCheckOptions, path: string, sink: FindingSink): void {
  if (!opts.knownMetric) return;
  const unknown = new Set<string>();
  for (const s of selectors) {
    if (s.metric === undefined || s.metric.includes(NAME_PLACEHOLDER)) continue;
    if (!opts.knownMetric(s.metric)) unknown.add(s.metric);
  }
  for (const m of unknown) sink.add('dashboard-metric', `reads "${m}", which no scraped component exposes and no recording rule records`, path);
}
