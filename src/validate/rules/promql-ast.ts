import type { TreeCursor } from '@lezer/common';
import { parser } from '@prometheus-io/lezer-promql';
import { parseDuration } from './duration.js';
import { unquote } from '../../authoring/lezer-text.js';

export { unquote };

/** A label matcher of a selector: `name op "value"` with the value unquoted. */
export interface Matcher {
  readonly name: string;
  readonly op: '=' | '!=' | '=~' | '!~';
  readonly value: string;
}

interface Base {
  /** The node's text as written. */
  readonly text: string;
}

/**
 * A PromQL expression as the checks read it: the parts of Prometheus's own
 * AST that decide which series and labels a query returns.
 */
export type PromNode =
  | (Base & { readonly type: 'selector'; readonly metric?: string; readonly matchers: readonly Matcher[] })
  | (Base & { readonly type: 'matrix'; readonly expr: PromNode; /** Seconds, when a plain duration. */ readonly range?: number; readonly rangeText: string })
  | (Base & { readonly type: 'subquery'; readonly expr: PromNode; readonly range?: number })
  | (Base & { readonly type: 'aggregate'; readonly op: string; readonly by?: readonly string[]; readonly without?: readonly string[]; readonly args: readonly PromNode[] })
  | (Base & { readonly type: 'call'; readonly fn: string; readonly args: readonly PromNode[] })
  | (Base & {
      readonly type: 'binary';
      readonly op: string;
      readonly bool: boolean;
      readonly on?: readonly string[];
      readonly ignoring?: readonly string[];
      readonly group?: 'left' | 'right';
      readonly include: readonly string[];
      readonly lhs: PromNode;
      readonly rhs: PromNode;
    })
  /** Parentheses, unary minus, `offset` and `@`: the value of `expr`, its labels unchanged. */
  | (Base & { readonly type: 'wrap'; readonly expr: PromNode })
  | (Base & { readonly type: 'number'; readonly value: number })
  | (Base & { readonly type: 'string'; readonly value: string });

export const COMPARISON_OPS: ReadonlySet<string> = new Set(['==', '!=', '>', '<', '>=', '<=']);
export const SET_OPS: ReadonlySet<string> = new Set(['and', 'or', 'unless']);

const EXPR_NODES = new Set([
  'AggregateExpr',
  'BinaryExpr',
  'FunctionCall',
  'MatrixSelector',
  'NumberDurationLiteral',
  'OffsetExpr',
  'AnchoredExpr',
  'SmoothedExpr',
  'ParenExpr',
  'StringLiteral',
  'SubqueryExpr',
  'UnaryExpr',
  'VectorSelector',
  'StepInvariantExpr',
]);

/** A child of a node, as the conversion reads it: its name and where it stands. */
interface Span {
  readonly name: string;
  readonly from: number;
  readonly to: number;
}

/**
 * Calls `visit` with the cursor on each child of the node it is on, and
 * leaves it back on that node. The tree is read through one cursor rather
 * than as SyntaxNode objects: a node object per child visited made most of
 * the cost of converting a parsed expression.
 */
function eachChild(c: TreeCursor, visit: (c: TreeCursor) => void): void {
  if (!c.firstChild()) return;
  do visit(c);
  while (c.nextSibling());
  c.parent();
}

const spanOf = (c: TreeCursor): Span => ({ name: c.name, from: c.from, to: c.to });

/** The label names under the cursor's node (a GroupingLabels). */
function labelList(c: TreeCursor, src: string): string[] {
  const out: string[] = [];
  eachChild(c, (k) => {
    if (k.name === 'LabelName') out.push(src.slice(k.from, k.to));
    else if (k.name === 'QuotedLabelName') out.push(unquote(src.slice(k.from, k.to)));
  });
  return out;
}

function durationOf(node: Span | undefined, src: string): number | undefined {
  if (!node) return undefined;
  const text = src.slice(node.from, node.to).trim();
  if (/^\d+$/.test(text)) return Number(text);
  return parseDuration(text);
}

/** Rules repeat expressions (across files, environments and checks): each is parsed once. */
const built = new Map<string, PromNode | undefined>();

/** Builds the expression tree; undefined when the expression does not parse (the syntax check reports that). */
export function buildPromAst(expr: string): PromNode | undefined {
  if (built.has(expr)) return built.get(expr);
  const result = buildUncached(expr);
  if (built.size >= 4096) built.clear();
  built.set(expr, result);
  return result;
}

function buildUncached(expr: string): PromNode | undefined {
  const tree = parser.parse(expr);
  let broken = false;
  tree.iterate({
    enter(ref) {
      if (ref.type.isError) broken = true;
      return !broken;
    },
  });
  if (broken) return undefined;
  const c = tree.cursor();
  if (!c.firstChild()) return undefined;
  try {
    return convert(c, expr);
  } catch {
    return undefined;
  }
}

/** The expressions among the children of the cursor's node, converted in order. */
function exprChildren(c: TreeCursor, src: string): PromNode[] {
  const out: PromNode[] = [];
  eachChild(c, (k) => {
    if (EXPR_NODES.has(k.name)) out.push(convert(k, src));
  });
  return out;
}

/** A selector's matchers and metric name, read from its LabelMatchers (the cursor's node). */
function readMatchers(c: TreeCursor, src: string, matchers: Matcher[], metric: string | undefined): string | undefined {
  eachChild(c, (m) => {
    if (m.name === 'QuotedLabelName') {
      metric = unquote(src.slice(m.from, m.to));
      return;
    }
    if (m.name !== 'UnquotedLabelMatcher' && m.name !== 'QuotedLabelMatcher') return;
    let labelName: Span | undefined;
    let quotedName: Span | undefined;
    let op: Span | undefined;
    let value: Span | undefined;
    eachChild(m, (k) => {
      if (k.name === 'LabelName') labelName ??= spanOf(k);
      else if (k.name === 'QuotedLabelName') quotedName ??= spanOf(k);
      else if (k.name === 'MatchOp') op ??= spanOf(k);
      else if (k.name === 'StringLiteral') value = spanOf(k);
    });
    const name = labelName ?? quotedName;
    if (!name || !op || !value) return;
    const n = name.name === 'QuotedLabelName' ? unquote(src.slice(name.from, name.to)) : src.slice(name.from, name.to);
    const matcher: Matcher = { name: n, op: src.slice(op.from, op.to) as Matcher['op'], value: unquote(src.slice(value.from, value.to)) };
    if (n === '__name__' && matcher.op === '=') metric = matcher.value;
    matchers.push(matcher);
  });
  return metric;
}

/** Converts the node under the cursor, and leaves the cursor on it. */
function convert(c: TreeCursor, src: string): PromNode {
  const name = c.name;
  const text = src.slice(c.from, c.to);
  switch (name) {
    case 'VectorSelector': {
      const matchers: Matcher[] = [];
      let metric: string | undefined;
      let seenId = false;
      let seenMatchers = false;
      eachChild(c, (k) => {
        if (k.name === 'Identifier' && !seenId) {
          seenId = true;
          metric = src.slice(k.from, k.to);
        }
      });
      eachChild(c, (k) => {
        if (k.name === 'LabelMatchers' && !seenMatchers) {
          seenMatchers = true;
          metric = readMatchers(k, src, matchers, metric);
        }
      });
      return { type: 'selector', text, ...(metric !== undefined ? { metric } : {}), matchers };
    }
    case 'MatrixSelector':
    case 'SubqueryExpr': {
      let d: Span | undefined;
      const exprs: PromNode[] = [];
      eachChild(c, (k) => {
        if (k.name === 'DurationExpr') d ??= spanOf(k);
        if (EXPR_NODES.has(k.name)) exprs.push(convert(k, src));
      });
      const range = durationOf(d, src);
      if (name === 'SubqueryExpr') return { type: 'subquery', text, expr: exprs[0]!, ...(range !== undefined ? { range } : {}) };
      return { type: 'matrix', text, expr: exprs[0]!, ...(range !== undefined ? { range } : {}), rangeText: d ? src.slice(d.from, d.to) : '' };
    }
    case 'AggregateExpr': {
      let op: Span | undefined;
      let modifier: { by: boolean; labels: string[] } | undefined;
      let args: PromNode[] | undefined;
      eachChild(c, (k) => {
        if (k.name === 'AggregateOp') op ??= spanOf(k);
        else if (k.name === 'AggregateModifier' && !modifier) {
          let by = false;
          let labels: string[] | undefined;
          eachChild(k, (g) => {
            if (g.name === 'By') by = true;
            else if (g.name === 'GroupingLabels') labels ??= labelList(g, src);
          });
          modifier = { by, labels: labels ?? [] };
        } else if (k.name === 'FunctionCallBody') args ??= exprChildren(k, src);
      });
      return {
        type: 'aggregate',
        text,
        op: op ? src.slice(op.from, op.to).toLowerCase() : '',
        ...(modifier ? (modifier.by ? { by: modifier.labels } : { without: modifier.labels }) : {}),
        args: args ?? [],
      };
    }
    case 'FunctionCall': {
      let id: Span | undefined;
      let args: PromNode[] | undefined;
      eachChild(c, (k) => {
        if (k.name === 'FunctionIdentifier') id ??= spanOf(k);
        else if (k.name === 'FunctionCallBody') args ??= exprChildren(k, src);
      });
      return { type: 'call', text, fn: id ? src.slice(id.from, id.to) : '', args: args ?? [] };
    }
    case 'BinaryExpr': {
      const exprs: PromNode[] = [];
      let op: Span | undefined;
      let bool = false;
      let matching: { on: boolean; group?: 'left' | 'right'; labels: string[]; include: string[] } | undefined;
      eachChild(c, (k) => {
        const n = k.name;
        if (EXPR_NODES.has(n)) exprs.push(convert(k, src));
        else if (n === 'BoolModifier') bool = true;
        else if (n === 'MatchingModifierClause') {
          if (matching) return;
          let on = false;
          let left = false;
          let right = false;
          const groupings: string[][] = [];
          eachChild(k, (g) => {
            if (g.name === 'On') on = true;
            else if (g.name === 'GroupLeft') left = true;
            else if (g.name === 'GroupRight') right = true;
            else if (g.name === 'GroupingLabels') groupings.push(labelList(g, src));
          });
          matching = { on, ...(right ? { group: 'right' as const } : left ? { group: 'left' as const } : {}), labels: groupings[0] ?? [], include: groupings[1] ?? [] };
        } else if (n !== 'FillModifier') op ??= spanOf(k);
      });
      const [lhs, rhs] = exprs;
      return {
        type: 'binary',
        text,
        op: op ? src.slice(op.from, op.to).toLowerCase() : '',
        bool,
        ...(matching ? (matching.on ? { on: matching.labels } : { ignoring: matching.labels }) : {}),
        ...(matching?.group ? { group: matching.group } : {}),
        include: matching ? matching.include : [],
        lhs: lhs!,
        rhs: rhs!,
      };
    }
    case 'NumberDurationLiteral': {
      const t = text.trim();
      const n = Number(t.replace(/_/g, ''));
      return { type: 'number', text, value: Number.isNaN(n) ? (/inf/i.test(t) ? (t.startsWith('-') ? -Infinity : Infinity) : parseDuration(t.replace(/^[+-]/, '')) ?? NaN) : n };
    }
    case 'StringLiteral':
      return { type: 'string', text, value: unquote(text) };
    default: {
      // ParenExpr, UnaryExpr, OffsetExpr, StepInvariantExpr, AnchoredExpr, SmoothedExpr: the inner expression.
      const inner = exprChildren(c, src)[0];
      if (!inner) throw new Error(`unexpected ${name}`);
      if (name === 'UnaryExpr' && inner.type === 'number') return { type: 'number', text, value: text.trim().startsWith('-') ? -inner.value : inner.value };
      return { type: 'wrap', text, expr: inner };
    }
  }
}

const flattened = new WeakMap<PromNode, readonly PromNode[]>();

/** Every node of the tree, parents before children (computed once per tree; the checks read it many times). */
export function walk(node: PromNode): readonly PromNode[] {
  const known = flattened.get(node);
  if (known) return known;
  const out: PromNode[] = [];
  const visit = (n: PromNode): void => {
    out.push(n);
    switch (n.type) {
      case 'matrix':
      case 'subquery':
      case 'wrap':
        visit(n.expr);
        break;
      case 'aggregate':
      case 'call':
        for (const a of n.args) visit(a);
        break;
      case 'binary':
        visit(n.lhs);
        visit(n.rhs);
        break;
      default:
        break;
    }
  };
  visit(node);
  flattened.set(node, out);
  return out;
}

/** The node under parentheses, unary signs, `offset` and `@`. */
export function unwrap(node: PromNode): PromNode {
  let n = node;
  while (n.type === 'wrap') n = n.expr;
  return n;
}

/** Functions that return a scalar. */
const SCALAR_FUNCTIONS = new Set(['scalar', 'time', 'pi']);

/** Whether the expression evaluates to a scalar (or a string) rather than a vector. */
export function isScalar(node: PromNode): boolean {
  switch (node.type) {
    case 'number':
    case 'string':
      return true;
    case 'wrap':
      return isScalar(node.expr);
    case 'call':
      return SCALAR_FUNCTIONS.has(node.fn);
    case 'binary':
      return isScalar(node.lhs) && isScalar(node.rhs);
    default:
      return false;
  }
}
