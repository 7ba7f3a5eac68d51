import { appliesTo, fullMatch, type RuleContext } from './context.js';
import { formatSeconds } from './duration.js';
import { labelsOf, mayHave, SAMPLING_AGGREGATIONS } from './labels.js';
import { COMPARISON_OPS, isScalar, type PromNode, unwrap, walk } from './promql-ast.js';

/** Functions whose range argument must be a counter for the result to mean anything. */
const COUNTER_FUNCTIONS = new Set(['rate', 'irate', 'increase', 'resets']);
/** Functions whose range must hold at least two samples. */
const TWO_SAMPLE_FUNCTIONS = new Set(['rate', 'irate', 'increase']);
/** Where a counter's raw value is harmless: its rate, whether it exists, when it changed, how many series there are. */
const COUNTER_SAFE = new Set([
  'rate',
  'irate',
  'increase',
  'resets',
  'absent',
  'absent_over_time',
  'present_over_time',
  'count_over_time',
  'changes',
  'timestamp',
]);
const COUNTER_SAFE_AGGREGATIONS = new Set(['count', 'group', 'count_values']);

const hasComparison = (n: PromNode): Extract<PromNode, { type: 'binary' }> | undefined => {
  for (const x of walk(n)) if (x.type === 'binary' && (COMPARISON_OPS.has(x.op) || x.op === 'unless')) return x;
  return undefined;
};
const hasAbsent = (n: PromNode): boolean => {
  for (const x of walk(n)) if (x.type === 'call' && (x.fn === 'absent' || x.fn === 'absent_over_time')) return true;
  return false;
};
const hasSelector = (n: PromNode): boolean => {
  for (const x of walk(n)) if (x.type === 'selector') return true;
  return false;
};

/** alerts/comparison: an alert fires for every series its query returns, so the query needs a condition. */
export function checkComparison(ctx: RuleContext): void {
  const ast = ctx.ast;
  if (ctx.kind !== 'alerting' || !ast) return;
  // `vector(1)` and other constants: an alert that always fires by design (a dead man's switch).
  if (!hasSelector(ast)) return;
  const top = unwrap(ast);
  if (top.type === 'binary' && top.op === 'or') {
    const sides = [top.lhs, top.rhs];
    if (sides.some((s) => !hasComparison(s)) && !sides.some(hasAbsent)) {
      const constant = sides.some((s) => unwrap(s).type === 'call' && (unwrap(s) as { fn: string }).fn === 'vector');
      ctx.report(
        'alerts/comparison',
        constant ? 'error' : 'warning',
        constant
          ? 'one side of the top-level "or" is vector(), which always returns a series: the alert always fires'
          : 'one side of the top-level "or" has no condition, so it returns a series whenever its metric exists: the alert always fires then',
      );
    }
  }
  const cmp = hasComparison(ast);
  if (cmp) {
    if (cmp.bool && !hasComparison(cmp.lhs) && !hasComparison(cmp.rhs)) {
      ctx.report('alerts/comparison', 'error', `the comparison "${cmp.op} bool" returns 0 or 1 for every series instead of filtering them: the alert always fires`);
    }
    return;
  }
  if (hasAbsent(ast)) return;
  // A selector that filters on label values can make the existence of a series the condition
  // (an exporter that only exports a bad state); without filters the series always exist.
  const selectors = walk(ast).filter((n) => n.type === 'selector');
  // ALERTS exists only while an alert is pending or firing: its existence is the condition.
  if (selectors.every((n) => n.metric === 'ALERTS' || n.metric === 'ALERTS_FOR_STATE')) return;
  const filtered = selectors.some((n) => n.matchers.some((m) => m.name !== '__name__'));
  ctx.report(
    'alerts/comparison',
    filtered ? 'info' : 'warning',
    filtered
      ? 'the query has no condition (such as "> 0"): the alert fires for every series its label filters select, whatever the value; state the condition when existence is not the whole of it'
      : 'the query has no condition (such as "> 0"): the alert fires for every series it returns, whatever the value',
  );
}

/** promql/counter: an alert on the raw value of a counter fires from the moment it passes the threshold until the process restarts. */
export function checkCounter(ctx: RuleContext): void {
  if (ctx.kind !== 'alerting' || !ctx.ast) return;
  const reported = new Set<string>();
  const visit = (n: PromNode, safe: boolean): void => {
    switch (n.type) {
      case 'selector': {
        if (safe || n.metric === undefined || reported.has(n.metric)) return;
        const t = ctx.metricType(n.metric);
        if (t?.type !== 'counter') return;
        reported.add(n.metric);
        ctx.report('promql/counter', 'warning', `${n.metric} is a counter (${t.source}) read without rate() or increase(): its raw value only grows until the process restarts`);
        return;
      }
      case 'call':
        for (const a of n.args) visit(a, safe || COUNTER_SAFE.has(n.fn));
        return;
      case 'aggregate':
        for (const a of n.args) visit(a, safe || COUNTER_SAFE_AGGREGATIONS.has(n.op));
        return;
      case 'binary': {
        // `counter > 0`: whether it ever counted, which the raw value answers.
        const zero = (x: PromNode) => unwrap(x).type === 'number' && (unwrap(x) as { value: number }).value === 0;
        const existence = (n.op === '>' || n.op === '!=') && zero(n.rhs);
        // `x unless x offset 10m`: series new within the window, whose raw value is all they counted.
        const fresh = n.op === 'unless' && metricsOf(n.lhs).some((m) => metricsOf(n.rhs).includes(m));
        visit(n.lhs, safe || existence || fresh);
        // The right side of and/unless only filters by labels; its values are never read.
        visit(n.rhs, safe || n.op === 'and' || n.op === 'unless');
        return;
      }
      case 'matrix':
      case 'subquery':
      case 'wrap':
        visit(n.expr, safe);
        return;
      default:
        return;
    }
  };
  visit(ctx.ast, false);
}

const metricsOf = (n: PromNode): string[] => walk(n).flatMap((x) => (x.type === 'selector' && x.metric !== undefined ? [x.metric] : []));

const AGGREGATING = (n: PromNode): n is Extract<PromNode, { type: 'aggregate' }> => n.type === 'aggregate' && !SAMPLING_AGGREGATIONS.has(n.op);
const RATES = new Set(['rate', 'irate', 'increase', 'deriv', 'delta', 'idelta']);

/**
 * promql/rate: rate(), irate() and increase() need at least two samples in
 * their range (twice the scrape interval) and a counter; the rate of an
 * aggregation (a sum) misreads every counter reset as a drop.
 */
export function checkRate(ctx: RuleContext): void {
  if (!ctx.ast) return;
  for (const n of walk(ctx.ast)) {
    if (n.type !== 'call' || !COUNTER_FUNCTIONS.has(n.fn)) continue;
    const arg = n.args[0] ? unwrap(n.args[0]) : undefined;
    if (!arg) continue;
    if (arg.type === 'matrix' && TWO_SAMPLE_FUNCTIONS.has(n.fn) && arg.range !== undefined && arg.range < 2 * ctx.scrapeInterval) {
      ctx.report(
        'promql/rate',
        'error',
        `${n.fn}(${arg.text}): a range of ${arg.rangeText} holds fewer than two samples at a ${formatSeconds(ctx.scrapeInterval)} scrape interval, so it often returns nothing; use at least [${formatSeconds(2 * ctx.scrapeInterval)}]`,
      );
    }
    const inner = arg.type === 'matrix' || arg.type === 'subquery' ? unwrap(arg.expr) : undefined;
    if (!inner) continue;
    if (arg.type === 'subquery' && AGGREGATING(inner)) {
      ctx.report('promql/rate', 'error', `${n.fn}() over ${inner.op}(...): the ${inner.op} of counters drops whenever one of them resets, which ${n.fn}() reads as a reset of the whole; take ${n.fn}() first and ${inner.op} after`);
      continue;
    }
    if (inner.type !== 'selector' || inner.metric === undefined) continue;
    const t = ctx.metricType(inner.metric);
    if (t && t.type !== 'counter' && t.type !== 'untyped') {
      ctx.report('promql/rate', 'error', `${n.fn}() over ${inner.metric}, a ${t.type} (${t.source}); ${n.fn}() only means something over a counter: use deriv() or delta() for a gauge`);
      continue;
    }
    if (t) continue;
    // A series recorded by one of the files: what its expression makes of it.
    for (const rec of ctx.recorded.get(inner.metric) ?? []) {
      const top = rec.ast ? unwrap(rec.ast) : undefined;
      if (!top) continue;
      const rated = walk(top).find((x) => x.type === 'call' && RATES.has(x.fn));
      if (rated && rated.type === 'call') {
        ctx.report('promql/rate', 'error', `${n.fn}() over ${inner.metric}, which ${rec.file} records with ${rated.fn}(): it is already a rate, not a counter`);
        break;
      }
      if (AGGREGATING(top) && top.op !== 'count' && top.op !== 'group') {
        ctx.report('promql/rate', 'error', `${n.fn}() over ${inner.metric}, which ${rec.file} records as ${top.op}(...): the ${top.op} of counters drops whenever one of them resets; record ${n.fn}() first and ${top.op} after`);
        break;
      }
    }
  }
}

/** promql/fragile: topk() and friends pick different series from one evaluation to the next, so an alert's instances flap. */
export function checkFragile(ctx: RuleContext): void {
  if (ctx.kind !== 'alerting' || !ctx.ast) return;
  // Follow only what passes labels through to the result: an aggregation that is not itself sampling fixes them.
  const visit = (n: PromNode): void => {
    switch (n.type) {
      case 'aggregate':
        if (SAMPLING_AGGREGATIONS.has(n.op)) {
          ctx.report('promql/fragile', 'warning', `${n.op}() may pick different series at each evaluation; an alert on them fires and resolves as the pick changes`);
          return;
        }
        if (n.without) for (const a of n.args) visit(a);
        return;
      case 'binary':
        if (isScalar(n.lhs)) visit(n.rhs);
        else if (isScalar(n.rhs)) visit(n.lhs);
        else if (n.op === 'or') {
          visit(n.lhs);
          visit(n.rhs);
        } else if (n.group === 'right') visit(n.rhs);
        else if (!n.on) visit(n.lhs);
        return;
      case 'call':
        if (n.fn !== 'absent' && n.fn !== 'absent_over_time' && n.fn !== 'vector' && n.fn !== 'scalar') for (const a of n.args) if (!isScalar(a)) visit(a);
        return;
      case 'matrix':
      case 'subquery':
      case 'wrap':
        visit(n.expr);
        return;
      default:
        return;
    }
  };
  visit(ctx.ast);
}

/** promql/impossible: parts of a query that can never match, or group by labels that are already gone. */
export function checkImpossible(ctx: RuleContext): void {
  if (!ctx.ast) return;
  for (const n of walk(ctx.ast)) {
    if (n.type === 'aggregate' && n.by && !SAMPLING_AGGREGATIONS.has(n.op)) {
      const inner = n.args.at(-1);
      if (!inner) continue;
      const labels = labelsOf(inner);
      const gone = n.by.filter((l) => !mayHave(labels, l));
      if (gone.length > 0) ctx.report('promql/impossible', 'warning', `${n.op} by (${n.by.join(', ')}): ${gone.join(', ')} ${gone.length === 1 ? 'is' : 'are'} already removed from ${short(inner.text)}, so the result never has ${gone.length === 1 ? 'it' : 'them'}`);
      continue;
    }
    if (n.type !== 'binary' || isScalar(n.lhs) || isScalar(n.rhs) || n.op === 'or') continue;
    const l = labelsOf(n.lhs);
    const r = labelsOf(n.rhs);
    if (n.on) {
      for (const label of n.on) {
        const [lacks, has] = !mayHave(l, label) && r.guaranteed.has(label) ? ['left', 'right'] : !mayHave(r, label) && l.guaranteed.has(label) ? ['right', 'left'] : [];
        if (lacks) ctx.report('promql/impossible', 'error', `"${n.op} on(${n.on.join(', ')})" can never match: the ${has} side always has ${label}, the ${lacks} side never does`);
      }
    } else {
      const ignored = new Set(n.ignoring ?? []);
      for (const [side, other, name, otherName] of [
        [l, r, 'left', 'right'],
        [r, l, 'right', 'left'],
      ] as const) {
        const missing = [...side.guaranteed].filter((x) => !ignored.has(x) && !mayHave(other, x));
        if (missing.length > 0) {
          ctx.report('promql/impossible', 'error', `"${n.op}" can never match: the ${name} side always has ${missing.join(', ')}, which the ${otherName} side (${short(n[otherName === 'left' ? 'lhs' : 'rhs'].text)}) never has; add on(...) or ignoring(...)`);
          break;
        }
      }
    }
    if (n.group && n.include.length > 0) {
      const one = n.group === 'left' ? r : l;
      const absent = n.include.filter((x) => !mayHave(one, x));
      if (absent.length > 0) ctx.report('promql/impossible', 'warning', `group_${n.group}(${n.include.join(', ')}) copies ${absent.join(', ')} from a side that never has ${absent.length === 1 ? 'it' : 'them'}`);
    }
  }
}

const short = (text: string): string => {
  const t = text.replace(/\s+/g, ' ').trim();
  return t.length > 60 ? `${t.slice(0, 57)}...` : t;
};

const REGEX_META = /[.*+?()[\]{}|^$\\]/;

/** promql/regexp: regular expressions that are plain strings, anchors Prometheus adds anyway, matchers that match everything. */
export function checkRegexp(ctx: RuleContext): void {
  if (!ctx.ast) return;
  const seen = new Set<string>();
  for (const n of walk(ctx.ast)) {
    if (n.type !== 'selector') continue;
    for (const m of n.matchers) {
      if (m.op !== '=~' && m.op !== '!~') continue;
      const key = `${m.name}${m.op}${m.value}`;
      if (seen.has(key)) continue;
      seen.add(key);
      const plain = m.op === '=~' ? '=' : '!=';
      if (!REGEX_META.test(m.value.replace(/\\[.]/g, ''))) {
        ctx.report('promql/regexp', 'info', `${m.name}${m.op}"${m.value}" has no pattern in it: ${m.name}${plain}"${m.value.replace(/\\\./g, '.')}" says the same and is cheaper`);
      } else if (m.value.startsWith('^') || (m.value.endsWith('$') && !m.value.endsWith('\\$'))) {
        ctx.report('promql/regexp', 'info', `${m.name}${m.op}"${m.value}": Prometheus anchors every regular expression at both ends, so ^ and $ are redundant`);
      } else if (m.value === '.*') {
        ctx.report('promql/regexp', 'info', `${m.name}${m.op}".*" ${m.op === '=~' ? 'matches every series (and series without the label): drop the matcher' : 'matches no series at all'}`);
      }
    }
  }
}

/** promql/selector (configured): selectors of some metrics must filter on some labels. */
export function checkSelectors(ctx: RuleContext): void {
  if (!ctx.ast) return;
  for (const req of ctx.settings.selectors ?? []) {
    if (!appliesTo(req, ctx)) continue;
    const metric = fullMatch(req.metric);
    const call = req.call !== undefined ? fullMatch(req.call) : undefined;
    const visit = (n: PromNode, inCall: boolean): void => {
      if (n.type === 'selector') {
        if (!inCall || n.metric === undefined || !metric.test(n.metric)) return;
        const has = new Set(n.matchers.map((m) => m.name));
        const missing = req.requiredLabels.filter((l) => !has.has(l));
        if (missing.length > 0) ctx.report('promql/selector', req.level ?? 'warning', `${n.text} does not filter on ${missing.join(', ')}, which the configuration requires of ${req.metric}${req.call ? ` inside ${req.call}()` : ''}`);
        return;
      }
      if (n.type === 'call') for (const a of n.args) visit(a, inCall || (call?.test(n.fn) ?? false));
      else if (n.type === 'aggregate') for (const a of n.args) visit(a, inCall || (call?.test(n.op) ?? false));
      else if (n.type === 'binary') {
        visit(n.lhs, inCall);
        visit(n.rhs, inCall);
      } else if (n.type === 'matrix' || n.type === 'subquery' || n.type === 'wrap') visit(n.expr, inCall);
    };
    visit(ctx.ast, call === undefined);
  }
}

/** promql/aggregate (configured): the result of matching rules keeps or strips labels. */
export function checkAggregate(ctx: RuleContext): void {
  if (!ctx.ast) return;
  const aggregates = walk(ctx.ast).some((n) => n.type === 'aggregate');
  if (!aggregates) return;
  const labels = labelsOf(ctx.ast);
  for (const req of ctx.settings.aggregate ?? []) {
    if (!appliesTo(req, ctx) || !fullMatch(req.name).test(ctx.name)) continue;
    for (const k of req.keep ?? []) if (!mayHave(labels, k)) ctx.report('promql/aggregate', req.level ?? 'warning', `the result loses ${k} in an aggregation; the configuration requires ${ctx.name} to keep it`);
    for (const s of req.strip ?? []) if (mayHave(labels, s)) ctx.report('promql/aggregate', req.level ?? 'warning', `the result may still carry ${s}; the configuration requires ${ctx.name} to aggregate it away`);
  }
}

/** Every check of a rule's expression. */
export const PROMQL_CHECKS: readonly ((ctx: RuleContext) => void)[] = [
  checkComparison,
  checkCounter,
  checkRate,
  checkFragile,
  checkImpossible,
  checkRegexp,
  checkSelectors,
  checkAggregate,
];

