import { isScalar, type PromNode, SET_OPS } from './promql-ast.js';

/**
 * What is known of the labels of a query's result series. `fixed` results
 * carry at most the labels in `names` (an aggregation `by`, `on(...)`, a
 * constant); other results may carry any label but those in `removed`.
 * `guaranteed` labels are on every series (an equality matcher, `by` of a
 * label that was guaranteed).
 */
export interface LabelSet {
  readonly fixed: boolean;
  readonly names: ReadonlySet<string>;
  readonly removed: ReadonlySet<string>;
  readonly guaranteed: ReadonlySet<string>;
}

const EMPTY: ReadonlySet<string> = new Set();
const NONE: LabelSet = { fixed: true, names: EMPTY, removed: EMPTY, guaranteed: EMPTY };

/** Whether a series of the result may carry the label. */
export function mayHave(set: LabelSet, label: string): boolean {
  return set.fixed ? set.names.has(label) : !set.removed.has(label);
}

const without = (s: ReadonlySet<string>, drop: Iterable<string>): Set<string> => {
  const out = new Set(s);
  for (const d of drop) out.delete(d);
  return out;
};
const intersect = (a: ReadonlySet<string>, b: Iterable<string>): Set<string> => new Set([...b].filter((x) => a.has(x)));

/** Labels guaranteed by a selector's matchers: equality with a non-empty value. */
function selectorGuaranteed(node: Extract<PromNode, { type: 'selector' }>): Set<string> {
  return new Set(node.matchers.filter((m) => m.op === '=' && m.value !== '' && m.name !== '__name__').map((m) => m.name));
}

/** Aggregations that pick series rather than combine them: their result keeps each series' labels. */
export const SAMPLING_AGGREGATIONS: ReadonlySet<string> = new Set(['topk', 'bottomk', 'limitk', 'limit_ratio']);
/** Functions whose result has no labels (vector(), and the date functions without an argument). */
const LABELLESS = new Set(['vector', 'day_of_month', 'day_of_week', 'day_of_year', 'days_in_month', 'hour', 'minute', 'month', 'year']);

const computed = new WeakMap<PromNode, LabelSet>();

/** The labels a query's result can carry, following aggregations, vector matching and label functions. */
export function labelsOf(node: PromNode): LabelSet {
  const known = computed.get(node);
  if (known) return known;
  const result = labelsUncached(node);
  computed.set(node, result);
  return result;
}

function labelsUncached(node: PromNode): LabelSet {
  switch (node.type) {
    case 'selector':
      return { fixed: false, names: EMPTY, removed: EMPTY, guaranteed: selectorGuaranteed(node) };
    case 'matrix':
    case 'subquery':
    case 'wrap':
      return labelsOf(node.expr);
    case 'number':
    case 'string':
      return NONE;
    case 'aggregate': {
      const inner = labelsOf(node.args.at(-1) ?? node);
      if (SAMPLING_AGGREGATIONS.has(node.op)) return inner;
      const extra = node.op === 'count_values' && node.args[0]?.type === 'string' ? [node.args[0].value] : [];
      if (node.without) {
        const drop = node.without;
        return {
          fixed: inner.fixed,
          names: new Set([...without(inner.names, drop), ...extra]),
          removed: without(new Set([...inner.removed, ...drop]), extra),
          guaranteed: new Set([...without(inner.guaranteed, drop), ...extra]),
        };
      }
      const by = node.by ?? [];
      return { fixed: true, names: new Set([...by, ...extra]), removed: EMPTY, guaranteed: new Set([...intersect(inner.guaranteed, by), ...extra]) };
    }
    case 'call': {
      const vectorArg = node.args.find((a) => !isScalar(a));
      if (LABELLESS.has(node.fn) && (node.fn === 'vector' || vectorArg === undefined)) return NONE;
      if (node.fn === 'scalar' || node.fn === 'time' || node.fn === 'pi') return NONE;
      if (node.fn === 'absent' || node.fn === 'absent_over_time') {
        let arg = node.args[0];
        while (arg && (arg.type === 'matrix' || arg.type === 'wrap')) arg = arg.expr;
        const labels = arg?.type === 'selector' ? selectorGuaranteed(arg) : new Set<string>();
        return { fixed: true, names: labels, removed: EMPTY, guaranteed: labels };
      }
      if (!vectorArg) return NONE;
      const inner = labelsOf(vectorArg);
      if ((node.fn === 'label_replace' || node.fn === 'label_join') && node.args[1]?.type === 'string') {
        const dst = node.args[1].value;
        return { fixed: inner.fixed, names: new Set([...inner.names, dst]), removed: without(inner.removed, [dst]), guaranteed: inner.guaranteed };
      }
      if (node.fn === 'histogram_quantile' || node.fn === 'histogram_fraction') {
        return { fixed: inner.fixed, names: without(inner.names, ['le']), removed: new Set([...inner.removed, 'le']), guaranteed: without(inner.guaranteed, ['le']) };
      }
      if (node.fn === 'info') return { fixed: false, names: EMPTY, removed: EMPTY, guaranteed: inner.guaranteed };
      return inner;
    }
    case 'binary': {
      const lScalar = isScalar(node.lhs);
      const rScalar = isScalar(node.rhs);
      if (lScalar && rScalar) return NONE;
      if (rScalar) return labelsOf(node.lhs);
      if (lScalar) return labelsOf(node.rhs);
      const l = labelsOf(node.lhs);
      const r = labelsOf(node.rhs);
      if (node.op === 'or') {
        return {
          fixed: l.fixed && r.fixed,
          names: new Set([...l.names, ...r.names]),
          removed: intersect(l.removed, r.removed),
          guaranteed: intersect(l.guaranteed, r.guaranteed),
        };
      }
      if (SET_OPS.has(node.op)) return l;
      if (node.group) {
        const [many, one] = node.group === 'left' ? [l, r] : [r, l];
        const added = node.include;
        return {
          fixed: many.fixed,
          names: new Set([...many.names, ...added.filter((a) => mayHave(one, a))]),
          removed: without(many.removed, added.filter((a) => mayHave(one, a))),
          guaranteed: new Set([...many.guaranteed, ...added.filter((a) => one.guaranteed.has(a))]),
        };
      }
      if (node.on) {
        const keep = node.on.filter((x) => mayHave(l, x));
        return { fixed: true, names: new Set(keep), removed: EMPTY, guaranteed: intersect(l.guaranteed, keep) };
      }
      if (node.ignoring) {
        return { fixed: l.fixed, names: without(l.names, node.ignoring), removed: new Set([...l.removed, ...node.ignoring]), guaranteed: without(l.guaranteed, node.ignoring) };
      }
      return l;
    }
  }
}
