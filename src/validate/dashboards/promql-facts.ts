import { IterMode, type SyntaxNode, type TreeCursor } from '@lezer/common';
import { parser } from '@prometheus-io/lezer-promql';
import { syntaxError, unquote } from '../../authoring/lezer-text.js';

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

/**
 * A selector's matchers, read from its LabelMatchers through one cursor
 * (unquoted ones first, then quoted ones, as they always were listed), and
 * the first quoted name alone (`{"metric"}`).
 */
function matchersOf(list: SyntaxNode, text: (n: { from: number; to: number }) => string): { matchers: MatcherFact[]; quotedName?: string } {
  const unquoted: MatcherFact[] = [];
  const quoted: MatcherFact[] = [];
  let quotedName: string | undefined;
  const c = list.cursor();
  if (c.firstChild()) {
    do {
      const kind = c.name;
      if (kind === 'QuotedLabelName') {
        quotedName ??= unquote(text(c));
        continue;
      }
      if (kind !== 'UnquotedLabelMatcher' && kind !== 'QuotedLabelMatcher') continue;
      let name: string | undefined;
      let quotedLabel: string | undefined;
      let op: string | undefined;
      let value: { from: number; to: number } | undefined;
      if (c.firstChild()) {
        do {
          const part = c.name;
          if (part === 'LabelName') name ??= text(c);
          else if (part === 'QuotedLabelName') quotedLabel ??= text(c);
          else if (part === 'MatchOp') op ??= text(c);
          else if (part === 'StringLiteral') value = { from: c.from, to: c.to };
        } while (c.nextSibling());
        c.parent();
      }
      const label = name ?? (quotedLabel !== undefined ? unquote(quotedLabel) : undefined);
      if (label === undefined || op === undefined || value === undefined) continue;
      (kind === 'UnquotedLabelMatcher' ? unquoted : quoted).push({ name: label, op, value: unquote(text(value)) });
    } while (c.nextSibling());
  }
  return { matchers: quoted.length > 0 ? [...unquoted, ...quoted] : unquoted, ...(quotedName !== undefined ? { quotedName } : {}) };
}

/** The facts of a VectorSelector (the cursor's node). */
function selectorFact(c: TreeCursor, text: (n: { from: number; to: number }) => string): SelectorFact {
  const node = c.node;
  let id: { from: number; to: number } | undefined;
  let list: SyntaxNode | undefined;
  const k = node.cursor();
  if (k.firstChild()) {
    do {
      if (k.name === 'Identifier') id ??= { from: k.from, to: k.to };
      else if (k.name === 'LabelMatchers') list ??= k.node;
    } while (k.nextSibling());
  }
  const read = list ? matchersOf(list, text) : undefined;
  const matchers = read ? read.matchers : [];
  let metric = id ? text(id) : matchers.find((m) => m.name === '__name__' && m.op === '=')?.value;
  // `{"metric"}`: a quoted name alone (UTF-8 metric names).
  if (metric === undefined) metric = read?.quotedName;
  const consumer = consumerOf(node, text);
  const ranged = node.parent?.name === 'MatrixSelector';
  const at = { text: text(c), from: c.from };
  if (metric !== undefined) return consumer !== undefined ? { metric, ...at, matchers, consumer, ranged } : { metric, ...at, matchers, ranged };
  return consumer !== undefined ? { ...at, matchers, consumer, ranged } : { ...at, matchers, ranged };
}

function parseUncached(expr: string): PromQLFacts {
  const tree = parser.parse(expr);
  const errors: string[] = [];
  const selectors: SelectorFact[] = [];
  const ranges: RangeFact[] = [];
  const text = (n: { from: number; to: number }) => expr.slice(n.from, n.to);

  // Every node in document order, as Tree.iterate visits them, read through one cursor.
  const c = tree.cursor(IterMode.IncludeAnonymous);
  for (;;) {
    const type = c.type;
    if (type.isAnonymous) {
      // entered, not reported
    } else if (type.isError) {
      errors.push(syntaxError(expr, c.from));
    } else if (type.name === 'VectorSelector') {
      selectors.push(selectorFact(c, text));
    } else if (type.name === 'MatrixSelector') {
      const node = c.node;
      const duration = node.getChild('DurationExpr') ?? node.lastChild;
      const fn = consumerOf(node, text);
      if (duration) ranges.push({ ...(fn !== undefined ? { fn } : {}), from: duration.from, to: duration.to, text: text(duration) });
    }
    if (c.firstChild()) continue;
    while (!c.nextSibling()) if (!c.parent()) return finish(expr, errors, selectors, ranges);
  }
}

function finish(expr: string, errors: string[], selectors: SelectorFact[], ranges: RangeFact[]): PromQLFacts {
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
