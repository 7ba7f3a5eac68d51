import type { SyntaxNode } from '@lezer/common';
import { parser } from '@prometheus-io/lezer-promql';
import { parseDuration } from './duration.js';
import { unquote } from '../lezer-text.js';

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

function children(node: SyntaxNode): SyntaxNode[] {
  const out: SyntaxNode[] = [];
  for (let c = node.firstChild; c; c = c.nextSibling) out.push(c);
  return out;
}

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

function labelList(node: SyntaxNode | undefined | null, src: string): string[] {
  if (!node) return [];
  return children(node)
    .filter((c) => c.name === 'LabelName' || c.name === 'QuotedLabelName')
    .map((c) => (c.name === 'QuotedLabelName' ? unquote(src.slice(c.from, c.to)) : src.slice(c.from, c.to)));
}

function durationOf(node: SyntaxNode | undefined, src: string): number | undefined {
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
  const top = tree.topNode.firstChild;
  if (!top) return undefined;
  try {
    return convert(top, expr);
  } catch {
    return undefined;
  }
}

function convert(node: SyntaxNode, src: string): PromNode {
  const text = src.slice(node.from, node.to);
  const kids = children(node);
  const exprKids = () => kids.filter((c) => EXPR_NODES.has(c.name)).map((c) => convert(c, src));
  switch (node.name) {
    case 'VectorSelector': {
      const matchers: Matcher[] = [];
      let metric: string | undefined;
      const id = node.getChild('Identifier');
      if (id) metric = src.slice(id.from, id.to);
      const lm = node.getChild('LabelMatchers');
      for (const m of lm ? children(lm) : []) {
        if (m.name === 'QuotedLabelName') {
          metric = unquote(src.slice(m.from, m.to));
          continue;
        }
        if (m.name !== 'UnquotedLabelMatcher' && m.name !== 'QuotedLabelMatcher') continue;
        const name = m.getChild('LabelName') ?? m.getChild('QuotedLabelName');
        const op = m.getChild('MatchOp');
        const value = m.getChildren('StringLiteral').at(-1);
        if (!name || !op || !value) continue;
        const n = name.name === 'QuotedLabelName' ? unquote(src.slice(name.from, name.to)) : src.slice(name.from, name.to);
        const matcher: Matcher = { name: n, op: src.slice(op.from, op.to) as Matcher['op'], value: unquote(src.slice(value.from, value.to)) };
        if (n === '__name__' && matcher.op === '=') metric = matcher.value;
        matchers.push(matcher);
      }
      return { type: 'selector', text, ...(metric !== undefined ? { metric } : {}), matchers };
    }
    case 'MatrixSelector': {
      const d = node.getChild('DurationExpr');
      const range = durationOf(d ?? undefined, src);
      return { type: 'matrix', text, expr: exprKids()[0]!, ...(range !== undefined ? { range } : {}), rangeText: d ? src.slice(d.from, d.to) : '' };
    }
    case 'SubqueryExpr': {
      const range = durationOf(node.getChild('DurationExpr') ?? undefined, src);
      return { type: 'subquery', text, expr: exprKids()[0]!, ...(range !== undefined ? { range } : {}) };
    }
    case 'AggregateExpr': {
      const opNode = node.getChild('AggregateOp');
      const mod = node.getChild('AggregateModifier');
      const body = node.getChild('FunctionCallBody');
      const args = body ? children(body).filter((c) => EXPR_NODES.has(c.name)).map((c) => convert(c, src)) : [];
      const labels = labelList(mod?.getChild('GroupingLabels'), src);
      const isBy = mod?.getChild('By') !== null && mod !== null;
      return {
        type: 'aggregate',
        text,
        op: opNode ? src.slice(opNode.from, opNode.to).toLowerCase() : '',
        ...(mod ? (isBy ? { by: labels } : { without: labels }) : {}),
        args,
      };
    }
    case 'FunctionCall': {
      const id = node.getChild('FunctionIdentifier');
      const body = node.getChild('FunctionCallBody');
      const args = body ? children(body).filter((c) => EXPR_NODES.has(c.name)).map((c) => convert(c, src)) : [];
      return { type: 'call', text, fn: id ? src.slice(id.from, id.to) : '', args };
    }
    case 'BinaryExpr': {
      const [lhs, rhs] = exprKids();
      const opNode = kids.find((c) => !EXPR_NODES.has(c.name) && c.name !== 'BoolModifier' && c.name !== 'MatchingModifierClause' && c.name !== 'FillModifier');
      const matching = node.getChild('MatchingModifierClause');
      let on: string[] | undefined;
      let ignoring: string[] | undefined;
      let group: 'left' | 'right' | undefined;
      let include: string[] = [];
      if (matching) {
        const groupings = matching.getChildren('GroupingLabels');
        const labels = labelList(groupings[0], src);
        if (matching.getChild('On')) on = labels;
        else ignoring = labels;
        if (matching.getChild('GroupLeft')) group = 'left';
        if (matching.getChild('GroupRight')) group = 'right';
        include = labelList(groupings[1], src);
      }
      return {
        type: 'binary',
        text,
        op: opNode ? src.slice(opNode.from, opNode.to).toLowerCase() : '',
        bool: node.getChild('BoolModifier') !== null,
        ...(on ? { on } : {}),
        ...(ignoring ? { ignoring } : {}),
        ...(group ? { group } : {}),
        include,
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
      const inner = exprKids()[0];
      if (!inner) throw new Error(`unexpected ${node.name}`);
      if (node.name === 'UnaryExpr' && inner.type === 'number') return { type: 'number', text, value: text.trim().startsWith('-') ? -inner.value : inner.value };
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
