import { TEMPLATE_VARIABLE, variableUses, type VariablePosition } from '../../authoring/template-variables.js';

/** `$name`, `${name}`, `${name:format}` or `[[name]]` when the whole text is one variable; the variable's name. */
export function variableName(text: string): string | undefined {
  const m = /^\$\{([A-Za-z0-9_]+)(?::[^}]*)?\}$|^\$([A-Za-z0-9_]+)$|^\[\[([A-Za-z0-9_]+)(?::[^\]]*)?\]\]$/.exec(text.trim());
  return m ? (m[1] ?? m[2] ?? m[3]) : undefined;
}

/** Whether a text names the variable `name` anywhere (`$name`, `${name…}`, `[[name…]]`). */
export function mentionsVariable(text: string, name: string): boolean {
  for (const m of text.matchAll(TEMPLATE_VARIABLE)) if ((m[1] ?? m[2] ?? m[3]) === name) return true;
  return false;
}

/** Placeholder for a variable that stands for part of a name: a selector containing it is not looked up. */
export const NAME_PLACEHOLDER = 'obstack_template_variable';

/**
 * The values a variable may take when they are text Grafana pastes into a
 * query as it is (custom, constant, textbox and interval variables), the
 * current one first; undefined for variables whose values come from a query
 * or cannot be known.
 */
export type VariableValues = (name: string) => readonly string[] | undefined;

/** Where a variable stood in an expression, in the substituted text's offsets. */
export interface SubstitutedSpan {
  readonly from: number;
  readonly to: number;
  readonly name: string;
}

/** An expression with its template variables replaced, and what replaced what. */
export interface Substitution {
  readonly text: string;
  readonly spans: readonly SubstitutedSpan[];
  /** The literal value chosen for each variable whose values are known and stood outside a string. */
  readonly chosen: ReadonlyMap<string, string>;
}

/** What stands for a variable whose values are not known, by what its position needs. */
const FALLBACK: Readonly<Record<Exclude<VariablePosition, 'quoted'>, string>> = {
  duration: '5m',
  number: '300',
  label: 'template_label',
  name: NAME_PLACEHOLDER,
  value: '1',
};

const DURATION_TEXT = /^(\d+(ms|s|m|h|d|w|y))+$/;
/** Most combinations of known values tried for one expression. */
const MAX_COMBINATIONS = 16;

/**
 * Replaces Grafana template variables in a PromQL or LogQL expression so
 * that the result parses exactly when the query would parse once Grafana
 * interpolates it. Inside a string or a `#` comment a variable is left as it
 * is. Elsewhere a variable whose values are known (custom, constant, textbox
 * and interval variables) is replaced by one of them, each in turn: the
 * first substitution uses the current values. Any other variable is replaced
 * by text of the kind its position needs: a duration inside `[…]` or after
 * `offset`, a label inside grouping parentheses, a name fragment next to a
 * name, a number elsewhere.
 */
export function substitutions(expr: string, values: VariableValues = () => undefined): Substitution[] {
  if (!expr.includes('$') && !expr.includes('[[')) return [{ text: expr, spans: [], chosen: new Map() }];
  const uses = variableUses(expr);
  // The known values of each variable that stands outside strings, where they fit the position.
  const choices = new Map<string, readonly string[]>();
  for (const u of uses) {
    if (u.position === 'quoted' || choices.has(u.name)) continue;
    const known = values(u.name)?.filter((v) => !v.includes('$') && !v.includes('[['));
    if (!known || known.length === 0) continue;
    const fitting = u.position === 'duration' ? known.filter((v) => DURATION_TEXT.test(v.trim())) : known;
    if (fitting.length > 0) choices.set(u.name, [...new Set(fitting)]);
  }
  const build = (chosen: ReadonlyMap<string, string>): Substitution => {
    let text = '';
    let last = 0;
    const spans: SubstitutedSpan[] = [];
    for (const u of uses) {
      const value = u.position === 'quoted' ? expr.slice(u.at, u.end) : (chosen.get(u.name) ?? FALLBACK[u.position]);
      text += expr.slice(last, u.at);
      spans.push({ from: text.length, to: text.length + value.length, name: u.name });
      text += value;
      last = u.end;
    }
    return { text: text + expr.slice(last), spans, chosen };
  };
  const names = [...choices.keys()];
  const first = new Map(names.map((n) => [n, choices.get(n)![0]!]));
  const out = [build(first)];
  const total = names.reduce((n, name) => n * choices.get(name)!.length, 1);
  if (total <= MAX_COMBINATIONS) {
    // Every combination, in order, the current values first.
    for (let i = 1; i < total; i++) {
      let rest = i;
      const chosen = new Map<string, string>();
      for (const n of names) {
        const vs = choices.get(n)!;
        chosen.set(n, vs[rest % vs.length]!);
        rest = Math.floor(rest / vs.length);
      }
      out.push(build(chosen));
    }
  } else {
    // Too many to try: each value of each variable, the others at their current value.
    for (const n of names) for (const v of choices.get(n)!.slice(1, MAX_COMBINATIONS)) out.push(build(new Map([...first, [n, v]])));
  }
  return out;
}

/** The first of `substitutions`: every variable at its current value or a placeholder of the right kind. */
export function substituteVariables(expr: string, values?: VariableValues): string {
  return substitutions(expr, values)[0]!.text;
}

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** A custom variable's query: `a,b,c` or `text : value` pairs, with `\,` for a comma inside a value. */
function customValues(query: string): string[] {
  return query
    .split(/(?<!\\),/)
    .map((part) => {
      const pair = /^\s*(.*?)\s+:\s+(.*?)\s*$/.exec(part);
      return (pair ? pair[2]! : part.trim()).replace(/\\,/g, ',');
    })
    .filter((v) => v !== '');
}

const currentValue = (v: Json): string | undefined => {
  const current = isObject(v.current) ? v.current.value : undefined;
  if (typeof current === 'string') return current;
  if (Array.isArray(current) && current.length === 1 && typeof current[0] === 'string') return current[0];
  return undefined;
};

/**
 * What the substitutions of an expression depend on beyond its text: the
 * known values of the variables it names. Two expressions with the same text
 * and signature substitute, parse and check alike, whatever the dashboard.
 */
export function valuesSignature(variables: ReadonlyMap<string, Json>, values: VariableValues): (expr: string) => string {
  const known: Array<readonly [string, string]> = [];
  for (const name of variables.keys()) {
    const vs = values(name);
    if (vs) known.push([name, vs.join('\u0001')]);
  }
  if (known.length === 0) return () => '';
  return (expr) => {
    let out = '';
    for (const [name, vs] of known) if (expr.includes(name)) out += `${name}\u0002${vs}\u0003`;
    return out;
  };
}

/**
 * The known values of the dashboard's variables, current value first:
 * custom variables' options, constants, textboxes' default text, interval
 * variables' durations. `$__all` and `auto` are left out: neither is pasted
 * as it is.
 */
export function knownValues(variables: ReadonlyMap<string, Json>): VariableValues {
  const cache = new Map<string, readonly string[] | undefined>();
  const compute = (name: string): readonly string[] | undefined => {
    const v = variables.get(name);
    if (!v) return undefined;
    const query = typeof v.query === 'string' ? v.query : isObject(v.query) && typeof v.query.query === 'string' ? v.query.query : undefined;
    let values: string[];
    switch (v.type) {
      case 'custom':
      case 'interval': {
        const options = Array.isArray(v.options) ? v.options.map((o) => (isObject(o) && typeof o.value === 'string' ? o.value : undefined)).filter((o): o is string => o !== undefined) : [];
        values = options.length > 0 ? options : query !== undefined ? customValues(query) : [];
        break;
      }
      case 'constant':
      case 'textbox':
        values = query !== undefined && query !== '' ? [query] : [];
        break;
      default:
        return undefined;
    }
    const current = currentValue(v);
    if (current !== undefined && current !== '') values = [current, ...values];
    values = [...new Set(values.filter((x) => x !== '$__all' && x !== 'auto' && !x.startsWith('$__auto')))];
    return values.length > 0 ? values : undefined;
  };
  return (name) => {
    if (!cache.has(name)) cache.set(name, compute(name));
    return cache.get(name);
  };
}
