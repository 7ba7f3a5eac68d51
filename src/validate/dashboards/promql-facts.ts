import type { SyntaxNode } from '@lezer/common';
import { parser } from '@prometheus-io/lezer-promql';
import { syntaxError, unquote } from '../lezer-text.js';

/** A label matcher of a selector, its value unquoted. */
export interface MatcherFact {
  readonly name: string;
  readonly op: string;
  readonly value: string;
}

/** A series selector, and what reads it. */
export interface SelectorFact {
  /** The metric name (identifier or exact `__name__` matcher); undefined for `{job="x"}` or a regex name. */
  readonly metric?: string;
  readonly text: string;
  readonly from: number;
  readonly matchers: readonly MatcherFact[];
  /**
   * The function or aggregation that reads the selector directly, through a
   * range or subquery when it has one, offsets and `@` aside; undefined at the
   * top level and as an operand of a binary operator.
   */
  readonly consumer?: string;
  /** Whether the selector is read through a range `[…]` (not a subquery). */
  readonly ranged: boolean;
}

/** A range selector `x[…]` and the function it is an argument of. */
export interface RangeFact {
  /** The function whose argument it is; undefined when none (a subquery's inner expression, the top level). */
  readonly fn?: string;
  /** Offsets of the range's duration in the parsed text. */
  readonly from: number;
  readonly to: number;
  readonly text: string;
}

/** What the dashboard checks need from one PromQL expression, read from one parse. */
export interface PromQLFacts {
  /** Syntax errors, as "at offset N: unexpected …"; empty when the expression parses. */
  readonly errors: readonly string[];
  readonly selectors: readonly SelectorFact[];
  readonly ranges: readonly RangeFact[];
}


/** Nodes that wrap an expression without changing what reads it. */
const TRANSPARENT = new Set(['OffsetExpr', 'StepInvariantExpr', 'ParenExpr', 'FunctionCallBody']);

/** The function or aggregation that reads `node`, looking through offsets, `@`, parentheses, ranges and subqueries. */
function consumerOf(node: SyntaxNode, text: (n: SyntaxNode) => string): string | undefined {
  let up = node.parent;
  while (up && (TRANSPARENT.has(up.name) || up.name === 'MatrixSelector' || up.name === 'SubqueryExpr')) {
    if (up.name === 'FunctionCallBody') {
      const call = up.parent;
      if (call?.name === 'FunctionCall') {
        const id = call.getChild('FunctionIdentifier');
        return id ? text(id) : undefined;
      }
      if (call?.name === 'AggregateExpr') {
        const op = call.getChild('AggregateOp');
        return op ? text(op).toLowerCase() : undefined;
      }
      return undefined;
    }
    up = up.parent;
  }
  return undefined;
}

function parseUncached(expr: string): PromQLFacts {
  const tree = parser.parse(expr);
  const errors: string[] = [];
  const selectors: SelectorFact[] = [];
  const ranges: RangeFact[] = [];
  const text = (n: { from: number; to: number }) => expr.slice(n.from, n.to);

  const matchersOf = (node: SyntaxNode): MatcherFact[] => {
    const list = node.getChild('LabelMatchers');
    if (!list) return [];
    const out: MatcherFact[] = [];
    for (const m of [...list.getChildren('UnquotedLabelMatcher'), ...list.getChildren('QuotedLabelMatcher')]) {
      const name = m.getChild('LabelName') ?? m.getChild('QuotedLabelName');
      const op = m.getChild('MatchOp');
      const value = m.getChildren('StringLiteral').at(-1);
      if (!name || !op || !value) continue;
      out.push({ name: name.name === 'QuotedLabelName' ? unquote(text(name)) : text(name), op: text(op), value: unquote(text(value)) });
    }
    return out;
  };

  tree.iterate({
    enter(ref) {
      if (ref.type.isError) {
        errors.push(syntaxError(expr, ref.from));
        return;
      }
      if (ref.name === 'VectorSelector') {
        const node = ref.node;
        const matchers = matchersOf(node);
        const id = node.getChild('Identifier');
        let metric = id ? text(id) : matchers.find((m) => m.name === '__name__' && m.op === '=')?.value;
        if (metric === undefined) {
          // `{"metric"}`: a quoted name alone (UTF-8 metric names).
          const quoted = node.getChild('LabelMatchers')?.getChild('QuotedLabelName');
          if (quoted) metric = unquote(text(quoted));
        }
        const consumer = consumerOf(node, text);
        selectors.push({
          ...(metric !== undefined ? { metric } : {}),
          text: text(ref),
          from: ref.from,
          matchers,
          ...(consumer !== undefined ? { consumer } : {}),
          ranged: node.parent?.name === 'MatrixSelector',
        });
        return;
      }
      if (ref.name === 'MatrixSelector') {
        const duration = ref.node.getChild('DurationExpr') ?? ref.node.lastChild;
        const fn = consumerOf(ref.node, text);
        if (duration) ranges.push({ ...(fn !== undefined ? { fn } : {}), from: duration.from, to: duration.to, text: text(duration) });
      }
    },
  });
  if (expr.trim() === '' || /^\s*(#[^\n]*(\n|$)\s*)*$/.test(expr)) errors.push('empty expression');
  return { errors, selectors, ranges };
}

/** Panels repeat expressions within and across dashboards: each text is parsed once. */
const parsed = new Map<string, PromQLFacts>();

/** Parses a PromQL expression with @prometheus-io/lezer-promql (the parser of Prometheus's own UI) once per text. */
export function promqlFacts(expr: string): PromQLFacts {
  const known = parsed.get(expr);
  if (known) return known;
  const result = parseUncached(expr);
  if (parsed.size >= 8192) parsed.clear();
  parsed.set(expr, result);
  return result;
}
