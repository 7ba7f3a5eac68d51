/**
 * Where Grafana's template variables stand in a PromQL or LogQL expression,
 * read the same way by the pass that adds the `cluster` matcher and by the
 * dashboard checks: both replace each variable by text that parses where
 * Grafana's value would, and need to know what kind of text that is.
 */

/** Grafana's variable spellings: `${name}`, `${name:format}`, `$name`, `[[name]]`. */
export const TEMPLATE_VARIABLE = /\$\{([A-Za-z0-9_.]+)(?::[^}]*)?\}|\$([A-Za-z_][A-Za-z0-9_]*)|\[\[([A-Za-z0-9_]+)(?::[^\]]*)?\]\]/g;

/** Grafana's global variables that stand for a duration. */
const DURATION_VARIABLES = /^__(rate_interval|interval|range|auto(_interval_\w+)?)$/;
/** Global variables that stand for a number. */
const NUMBER_VARIABLES = /^__(interval_ms|range_s|range_ms|rate_interval_ms|from|to)$/;

/**
 * What a variable's position needs: nothing (`quoted`: inside a string or a
 * `#` comment, where the value does not change how the query parses), a
 * duration (inside `[…]` or after `offset`), a number (Grafana's numeric
 * globals), a label (inside `by (…)` and the like), part of a name (next to
 * a name or before `{`), or a value (a number stands for it) elsewhere.
 */
export type VariablePosition = 'quoted' | 'duration' | 'number' | 'label' | 'name' | 'value';

/** One variable of an expression: where it stands (`at` to `end`), its name, and what its position needs. */
export interface VariableUse {
  readonly at: number;
  readonly end: number;
  readonly name: string;
  readonly position: VariablePosition;
}

const isNameChar = (c: number) => (c >= 48 && c <= 58) || (c >= 65 && c <= 90) || c === 95 || (c >= 97 && c <= 122);
const isSpace = (c: string | undefined) => c === ' ' || c === '\t' || c === '\n' || c === '\r';

/** The first character before `at` that is not white space. */
function previousNonSpace(expr: string, at: number): string | undefined {
  let i = at - 1;
  while (i >= 0 && isSpace(expr[i])) i--;
  return expr[i];
}

/** The first character from `at` on that is not white space. */
function nextNonSpace(expr: string, at: number): string | undefined {
  let i = at;
  while (i < expr.length && isSpace(expr[i])) i++;
  return expr[i];
}

/** Whether the text before `at` ends with `offset` or `offset -`. */
function afterOffset(expr: string, at: number): boolean {
  let i = at - 1;
  while (i >= 0 && isSpace(expr[i])) i--;
  if (expr[i] === '-') i--;
  while (i >= 0 && isSpace(expr[i])) i--;
  return i >= 5 && expr.slice(i - 5, i + 1) === 'offset' && !isNameChar(expr.charCodeAt(i - 6));
}

/** Whether `at` is inside `[…]` (a range or a subquery's `[range:step]`). */
function insideBrackets(expr: string, at: number): boolean {
  for (let i = at - 1; i >= 0; i--) {
    if (expr[i] === '[') return true;
    if (expr[i] === ']' || expr[i] === '(' || expr[i] === ')') return false;
  }
  return false;
}

const GROUPING = /(?:^|[^A-Za-z0-9_])(by|without|on|ignoring|group_left|group_right)\s*$/;

/** Whether `at` is inside the parentheses of `by (…)`, `on (…)` and the like. */
function inGrouping(expr: string, at: number): boolean {
  let i = at - 1;
  while (i >= 0 && expr[i] !== '(' && expr[i] !== ')') i--;
  return i > 0 && expr[i] === '(' && GROUPING.test(expr.slice(Math.max(0, i - 24), i));
}

/** Each template variable of an expression, in order, with what its position needs. */
export function variableUses(expr: string): VariableUse[] {
  const uses: VariableUse[] = [];
  let inString: string | undefined;
  let scanned = 0;
  let inComment = false;
  // Tracks whether a position is inside a string literal or a comment, scanning forward once.
  const advance = (to: number) => {
    for (let i = scanned; i < to; i++) {
      const c = expr[i];
      if (inComment) {
        if (c === '\n') inComment = false;
      } else if (inString) {
        if (c === '\\' && inString !== '`') i++;
        else if (c === inString) inString = undefined;
      } else if (c === '"' || c === "'" || c === '`') {
        inString = c;
      } else if (c === '#') {
        inComment = true;
      }
    }
    scanned = Math.max(scanned, to);
  };
  for (const m of expr.matchAll(TEMPLATE_VARIABLE)) {
    const at = m.index;
    const end = at + m[0].length;
    const name = m[1] ?? m[2] ?? m[3] ?? '';
    advance(at);
    // A variable never changes whether what follows is inside a string.
    scanned = end;
    uses.push({ at, end, name, position: inString || inComment ? 'quoted' : position(expr, at, end, name) });
  }
  return uses;
}

/** What the position of a variable outside strings and comments needs. */
function position(expr: string, at: number, end: number, name: string): Exclude<VariablePosition, 'quoted'> {
  const prev = previousNonSpace(expr, at);
  const next = nextNonSpace(expr, end);
  if (DURATION_VARIABLES.test(name) || prev === '[' || next === ']' || (next === ':' && insideBrackets(expr, at)) || afterOffset(expr, at)) return 'duration';
  if (NUMBER_VARIABLES.test(name)) return 'number';
  if (inGrouping(expr, at)) return 'label';
  if (isNameChar(expr.charCodeAt(at - 1)) || isNameChar(expr.charCodeAt(end)) || expr[end] === '{') return 'name';
  return 'value';
}
