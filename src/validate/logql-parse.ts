import type { SyntaxNode } from '@lezer/common';
import { parser } from '@grafana/lezer-logql';
import { syntaxError, unquote } from '../authoring/lezer-text.js';

/** A stream selector's label matcher, its value unquoted. */
export interface LogQLMatcher {
  readonly name: string;
  readonly op: string;
  readonly value: string;
}

/** A log range `{…} | … [d]` and the range aggregation it is an argument of. */
export interface LogQLRange {
  readonly fn?: string;
  /** Offsets of the duration in the parsed text. */
  readonly from: number;
  readonly to: number;
}

export interface ParsedLogQL {
  /** Syntax errors and selectors Loki refuses; empty when Loki would run the query. */
  readonly errors: readonly string[];
  readonly selectors: ReadonlyArray<{ readonly text: string; readonly matchers: readonly LogQLMatcher[] }>;
  readonly ranges: readonly LogQLRange[];
}


/**
 * Whether a matcher selects only streams where the label is set, which Loki
 * requires of at least one matcher per selector (`app=~".*"` alone is refused).
 * A value holding a template variable is taken to be non-empty.
 */
function selective(m: LogQLMatcher): boolean {
  if (m.value.includes('$')) return true;
  if (m.op === '=') return m.value !== '';
  if (m.op !== '=~') return false;
  try {
    return !new RegExp(`^(?:${m.value})$`).test('');
  } catch {
    // Go's RE2 syntax that JavaScript lacks: leave the decision to Loki.
    return true;
  }
}

function parseUncached(expr: string): ParsedLogQL {
  const tree = parser.parse(expr);
  const errors: string[] = [];
  const selectors: Array<{ text: string; matchers: LogQLMatcher[] }> = [];
  const ranges: LogQLRange[] = [];
  const text = (n: { from: number; to: number }) => expr.slice(n.from, n.to);
  tree.iterate({
    enter(ref) {
      if (ref.type.isError) {
        errors.push(syntaxError(expr, ref.from));
        return;
      }
      if (ref.name === 'Selector') {
        const matchers: LogQLMatcher[] = [];
        const collect = (node: SyntaxNode | null) => {
          if (!node) return;
          for (const child of node.getChildren('Matchers')) collect(child);
          for (const m of node.getChildren('Matcher')) {
            const name = m.getChild('Identifier');
            const value = m.getChild('String');
            const op = name?.nextSibling;
            if (name && value && op) matchers.push({ name: text(name), op: text(op), value: unquote(text(value)) });
          }
        };
        collect(ref.node.getChild('Matchers'));
        selectors.push({ text: text(ref), matchers });
        if (matchers.length > 0 && !matchers.some(selective)) {
          errors.push(`the selector ${text(ref)} has no matcher that excludes the empty value, which Loki refuses (use =~".+" rather than =~".*")`);
        }
        return;
      }
      if (ref.name === 'LogRangeExpr') {
        const range = ref.node.getChild('Range')?.getChild('Duration');
        const agg = ref.node.parent?.name === 'RangeAggregationExpr' ? ref.node.parent.getChild('RangeOp') : null;
        if (range) ranges.push({ ...(agg ? { fn: text(agg) } : {}), from: range.from, to: range.to });
      }
    },
  });
  if (expr.trim() === '') errors.push('empty expression');
  return { errors, selectors, ranges };
}

const parsed = new Map<string, ParsedLogQL>();

/** Parses a LogQL expression with @grafana/lezer-logql (the grammar of Grafana's Loki editor), once per text. */
export function parseLogQL(expr: string): ParsedLogQL {
  const known = parsed.get(expr);
  if (known) return known;
  const result = parseUncached(expr);
  if (parsed.size >= 4096) parsed.clear();
  parsed.set(expr, result);
  return result;
}
