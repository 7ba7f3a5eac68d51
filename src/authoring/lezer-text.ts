/**
 * What the PromQL and LogQL parsers here (rules, dashboards, the shared
 * selector walk, the pass adding the cluster matcher) read from a lezer tree
 * the same way: string literals and the message of a syntax error.
 */

/** Unquotes a PromQL string literal (double, single or back quotes). */
export function unquote(literal: string): string {
  const q = literal[0];
  const body = literal.slice(1, literal.endsWith(q ?? '') && literal.length > 1 ? -1 : undefined);
  if (q === '`') return body;
  return body.replace(/\\(u[0-9a-fA-F]{4}|x[0-9a-fA-F]{2}|[0-7]{3}|.)/g, (_, e: string) => {
    switch (e[0]) {
      case 'n':
        return '\n';
      case 't':
        return '\t';
      case 'r':
        return '\r';
      case 'u':
      case 'x':
        return String.fromCharCode(parseInt(e.slice(1), 16));
      default:
        return /^[0-7]{3}$/.test(e) ? String.fromCharCode(parseInt(e, 8)) : e;
    }
  });
}

/** The message of a syntax error at `from` in `expr`, as every parser here words it. */
export function syntaxError(expr: string, from: number): string {
  return `at offset ${from}: unexpected ${from < expr.length ? JSON.stringify(expr.slice(from, from + 12)) : 'end of expression'}`;
}
