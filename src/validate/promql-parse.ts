import { parser } from '@prometheus-io/lezer-promql';
import { syntaxError, unquote } from '../authoring/lezer-text.js';

/** A series selector in an expression: its metric name when it has one. */
export interface SelectorUse {
  /** The metric name (from the identifier or an exact `__name__` matcher); undefined for `{job="x"}` or a regex name. */
  readonly metric?: string;
  /** The selector's text as written. */
  readonly text: string;
}

/** A call of a function that needs a counter (rate, increase, irate, resets), with the metric it reads directly. */
export interface CounterFunctionUse {
  readonly fn: string;
  /** The metric read by the range selector argument; undefined for a subquery or a nameless selector. */
  readonly metric?: string;
  readonly text: string;
}

export interface ParsedPromQL {
  /** Syntax errors, as "at offset N: near …"; empty when the expression parses. */
  readonly errors: readonly string[];
  readonly selectors: readonly SelectorUse[];
  readonly counterFunctions: readonly CounterFunctionUse[];
}

/** Functions whose range argument must be a counter for the result to mean anything. */
export const COUNTER_FUNCTIONS: ReadonlySet<string> = new Set(['rate', 'irate', 'increase', 'resets']);


/**
 * Parses a PromQL expression with @prometheus-io/lezer-promql (the parser of
 * Prometheus's own UI) and lists the selectors it reads and the counter
 * functions it calls.
 */
export function parsePromQL(expr: string): ParsedPromQL {
  const known = parsed.get(expr);
  if (known) return known;
  const result = parseUncached(expr);
  if (parsed.size >= 4096) parsed.clear();
  parsed.set(expr, result);
  return result;
}

/** Rules and panels repeat expressions across environments and checks; each is parsed once. */
const parsed = new Map<string, ParsedPromQL>();

function parseUncached(expr: string): ParsedPromQL {
  const tree = parser.parse(expr);
  const errors: string[] = [];
  const selectors: SelectorUse[] = [];
  const counterFunctions: CounterFunctionUse[] = [];
  const text = (from: number, to: number) => expr.slice(from, to);

  const selectorMetric = (node: import('@lezer/common').SyntaxNode): string | undefined => {
    const id = node.getChild('Identifier');
    if (id) return text(id.from, id.to);
    const matchers = node.getChild('LabelMatchers');
    if (!matchers) return undefined;
    for (const m of [...matchers.getChildren('UnquotedLabelMatcher'), ...matchers.getChildren('QuotedLabelMatcher')]) {
      const name = m.getChild('LabelName') ?? m.getChild('QuotedLabelName');
      const op = m.getChild('MatchOp');
      const value = m.getChildren('StringLiteral').at(-1);
      if (!name || !op || !value) continue;
      const labelName = name.name === 'QuotedLabelName' ? unquote(text(name.from, name.to)) : text(name.from, name.to);
      if (labelName === '__name__' && text(op.from, op.to) === '=') return unquote(text(value.from, value.to));
    }
    // `{"metric"}`: a quoted name alone (UTF-8 metric names).
    const quoted = matchers.getChild('QuotedLabelName');
    return quoted ? unquote(text(quoted.from, quoted.to)) : undefined;
  };

  tree.iterate({
    enter(ref) {
      if (ref.type.isError) {
        errors.push(syntaxError(expr, ref.from));
        return;
      }
      if (ref.name === 'VectorSelector') {
        const metric = selectorMetric(ref.node);
        selectors.push({ ...(metric !== undefined ? { metric } : {}), text: text(ref.from, ref.to) });
        return;
      }
      if (ref.name === 'FunctionCall') {
        const ident = ref.node.getChild('FunctionIdentifier');
        const fn = ident ? text(ident.from, ident.to) : '';
        if (!COUNTER_FUNCTIONS.has(fn)) return;
        const body = ref.node.getChild('FunctionCallBody');
        const arg = body?.getChild('MatrixSelector');
        const vs = arg?.getChild('VectorSelector');
        const metric = vs ? selectorMetric(vs) : undefined;
        counterFunctions.push({ fn, ...(metric !== undefined ? { metric } : {}), text: text(ref.from, ref.to) });
      }
    },
  });
  if (expr.trim() === '') errors.push('empty expression');
  return { errors, selectors, counterFunctions };
}
