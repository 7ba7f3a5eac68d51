import type { RuleFile } from '../authoring/index.js';
import type { CheckLevel } from './check-report.js';
import { buildCatalog, type MetricCatalog, type MetricType } from './metric-catalog.js';
import { parsePromQL } from './promql-parse.js';
import type { RecordedSeries, RuleContext } from './rules/context.js';
import { parseDuration } from './rules/duration.js';
import type { RuleFinding } from './rules/finding.js';
import { PROMQL_CHECKS } from './rules/promql-checks.js';
import { buildPromAst, type PromNode, walk } from './rules/promql-ast.js';
import { RULE_LINES } from './rules/structure.js';
import { checkAlertFor, checkForBounds, checkName, checkRequired, checkTemplates } from './rules/rule-checks.js';
import type { RuleCheckSettings } from './rules/settings.js';

export type { RuleFinding } from './rules/finding.js';
export { formatRuleFinding, ruleWhere, toReportedFinding } from './rules/finding.js';
export { parseRuleFileText } from './rules/structure.js';
export type { RuleCheckSettings } from './rules/settings.js';

export interface RuleLintOptions {
  /**
   * `stack`: our own rules — severity P1–P4, `service`, summary, description and runbook_url required (policy errors).
   * `external`: a team's existing files — a severity of any value, a runbook_url and some text
   * (summary, description or message) required (policy warnings).
   */
  readonly profile: 'stack' | 'external';
  /**
   * The metrics a rule may read (unknown ones are findings) and their types;
   * `false`: no catalog, no unknown-metric check. Recorded series of the linted files always count.
   */
  readonly catalog: MetricCatalog | false;
  /** More metric names to accept (`--known-metrics`). */
  readonly knownMetrics?: Iterable<string>;
  /** Metric types read from real `/metrics` output (`--metric-types`); they win over the catalog's. */
  readonly metricTypes?: ReadonlyMap<string, MetricType>;
  /** The `rules:` section of the checks' configuration file. */
  readonly settings?: RuleCheckSettings;
}

const DEFAULT_SCRAPE_INTERVAL = '30s';

/** Reads a `# TYPE name type` dump (Prometheus text exposition) into types; histograms and summaries add their series. */
export function parseMetricTypes(text: string): Map<string, MetricType> {
  const declared: Record<string, MetricType> = {};
  const TYPES = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped', 'info', 'gaugehistogram', 'stateset', 'unknown']);
  for (const [i, line] of text.split('\n').entries()) {
    const m = /^#\s*TYPE\s+(\S+)\s+(\S+)\s*$/.exec(line.trim());
    if (!m) continue;
    const type = m[2]!.toLowerCase();
    if (!TYPES.has(type)) throw new Error(`line ${i + 1}: "${type}" is not a metric type (counter, gauge, histogram, summary, untyped)`);
    declared[m[1]!] = type === 'unknown' || type === 'gaugehistogram' || type === 'stateset' ? (type === 'unknown' ? 'untyped' : 'gauge') : (type as MetricType);
  }
  const out = new Map<string, MetricType>();
  for (const [name, entry] of buildCatalog([{ source: 'metric types', reference: '', metrics: declared }])) out.set(name, entry.type);
  return out;
}

/**
 * "Did you mean": the candidate within a few edits of a name, one edit per
 * ten characters (at least one), so that only a plausible typo is offered.
 * Candidates are indexed by their first and last two characters: a typo that
 * close leaves one end intact, and an unknown name is not compared with
 * every known one.
 */
class NameSuggester {
  private readonly byEnd = new Map<string, string[]>();
  private readonly memo = new Map<string, string | undefined>();
  constructor(candidates: Iterable<string>) {
    for (const c of new Set(candidates)) {
      for (const k of [`^${c.slice(0, 2)}`, `$${c.slice(-2)}`]) {
        const list = this.byEnd.get(k);
        if (list) list.push(c);
        else this.byEnd.set(k, [c]);
      }
    }
  }
  suggest(input: string): string | undefined {
    if (this.memo.has(input)) return this.memo.get(input);
    const limit = Math.max(1, Math.floor(input.length / 10));
    let best: string | undefined;
    let bestDistance = limit + 1;
    for (const list of [this.byEnd.get(`^${input.slice(0, 2)}`), this.byEnd.get(`$${input.slice(-2)}`)]) {
      for (const c of list ?? []) {
        if (c === input || Math.abs(c.length - input.length) >= bestDistance) continue;
        const d = boundedDistance(input, c, bestDistance - 1);
        if (d < bestDistance) [best, bestDistance] = [c, d];
      }
    }
    this.memo.set(input, best);
    return best;
  }
}

/** Two rows of the distance table, kept between calls: thousands of candidates are compared per run. */
let rows = [new Int32Array(64), new Int32Array(64)] as const;

/**
 * Edit distance when at most `max`, otherwise `max + 1`. Only the cells
 * within `max` of the diagonal can hold a distance that small, so only they
 * are computed (the others count as `max + 1`), and rows stop as soon as
 * every cell is past the bound.
 */
function boundedDistance(a: string, b: string, max: number): number {
  const over = max + 1;
  if (Math.abs(a.length - b.length) > max) return over;
  const n = b.length;
  if (rows[0].length <= n + 1) rows = [new Int32Array(2 * (n + 1)), new Int32Array(2 * (n + 1))];
  let prev = rows[0];
  let cur = rows[1];
  for (let j = 0; j <= n; j++) prev[j] = j <= max ? j : over;
  for (let i = 1; i <= a.length; i++) {
    const lo = Math.max(1, i - max);
    const hi = Math.min(n, i + max);
    cur[0] = i <= max ? i : over;
    if (lo > 1) cur[lo - 1] = over;
    let rowMin = cur[0]!;
    const ca = a.charCodeAt(i - 1);
    for (let j = lo; j <= hi; j++) {
      const v = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (ca === b.charCodeAt(j - 1) ? 0 : 1), over);
      cur[j] = v;
      if (v < rowMin) rowMin = v;
    }
    if (hi < n) cur[hi + 1] = over;
    if (rowMin > max) return over;
    const done = cur;
    cur = prev;
    prev = done;
  }
  return Math.min(prev[n]!, over);
}

const collapse = (expr: string): string => expr.replace(/\s+/g, ' ').trim();

/**
 * Lints rule files the way pint does without a live Prometheus: every
 * expression parses; alerts have a condition and templates that render;
 * rate() gets counters and ranges of two samples; queries can match and do
 * not flap; regular expressions are needed; no rule is defined twice; the
 * labels and annotations a responder needs are there (house policy, kept
 * apart); and, under a catalog the user chose, every metric read is known.
 */
export function lintRuleFiles(files: readonly { name: string; content: RuleFile }[], opts: RuleLintOptions): RuleFinding[] {
  const findings: RuleFinding[] = [];
  const settings = opts.settings ?? {};
  const scrapeInterval = parseDuration(settings.scrapeInterval ?? DEFAULT_SCRAPE_INTERVAL) ?? 30;
  const known = new Set(opts.knownMetrics ?? []);
  const catalog = opts.catalog || undefined;
  const metricType = (metric: string): { type: MetricType; source: string } | undefined => {
    const fromDump = opts.metricTypes?.get(metric);
    if (fromDump) return { type: fromDump, source: 'metric types' };
    const entry = catalog?.get(metric);
    return entry ? { type: entry.type, source: entry.source } : undefined;
  };

  const astOf = (expr: string): PromNode | undefined => (expr.trim() === '' ? undefined : buildPromAst(expr));
  const recorded = new Map<string, RecordedSeries[]>();
  for (const f of files) {
    for (const g of f.content.groups) {
      for (const r of g.rules ?? []) {
        if (typeof r.record !== 'string') continue;
        const list = recorded.get(r.record) ?? [];
        list.push({ file: f.name, expr: String(r.expr), ast: astOf(String(r.expr)) });
        recorded.set(r.record, list);
      }
    }
  }
  const identities = new Map<string, string>();
  const suggester = catalog ? new NameSuggester([...catalog.keys(), ...recorded.keys(), ...known]) : undefined;

  for (const f of files) {
    for (const g of f.content.groups) {
      for (const [index, r] of (g.rules ?? []).entries()) {
        const kind = r.record !== undefined ? 'recording' : 'alerting';
        const name = r.alert ?? r.record ?? `#${index + 1}`;
        const line = RULE_LINES.get(r);
        const report = (check: string, level: CheckLevel, message: string, policy = false) =>
          findings.push({ file: f.name, group: g.name, rule: name, check, level, policy, message, ...(line !== undefined ? { line } : {}) });
        const expr = String(r.expr);
        const ast = astOf(expr);
        // The messages of a broken expression come from the parser's error nodes, read only then.
        if (!ast) for (const e of parsePromQL(expr).errors) report('promql/syntax', 'error', `expression does not parse: ${e}`);
        const ctx: RuleContext = { kind, name, rule: r, ...(ast ? { ast } : {}), settings, metricType, recorded, scrapeInterval, report };

        if (catalog && ast) {
          const reported = new Set<string>();
          for (const s of walk(ast)) {
            if (s.type !== 'selector') continue;
            const m = s.metric;
            if (m === undefined || reported.has(m) || catalog.has(m) || recorded.has(m) || known.has(m)) continue;
            reported.add(m);
            const near = suggester?.suggest(m);
            report('unknown-metric', 'warning', `reads ${m}, which no component of the catalog produces and no rule records${near ? ` (did you mean ${near}?)` : ''}`);
          }
        }
        for (const check of PROMQL_CHECKS) check(ctx);
        checkAlertFor(ctx);
        checkTemplates(ctx);
        checkRequired(ctx, opts.profile);
        checkName(ctx);
        checkForBounds(ctx);

        // rule/duplicate: the same name, labels and expression twice evaluates the same thing twice
        // (alerts that share a name with other conditions or labels are separate alerts).
        const identity = JSON.stringify([kind, name, Object.entries(r.labels ?? {}).sort(), collapse(expr)]);
        const first = identities.get(identity);
        if (first) report('rule/duplicate', 'warning', `${kind === 'alerting' ? 'alert' : 'recording rule'} ${name} is defined twice with the same expression and labels (first in ${first})`);
        else identities.set(identity, `${f.name} group ${g.name}`);
      }
    }
  }
  return findings;
}
