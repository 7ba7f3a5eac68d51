/**
 * What Grafana's PostgreSQL datasource does to a panel's SQL before it reaches
 * the database, for a time range and the values selected in the dashboard's
 * variables:
 *
 * - `${name:sqlstring}` → each selected value in single quotes, `'` doubled,
 *   joined by commas (`'a','b'`; nothing when none is selected);
 * - `$__timeFilter(col)` → `col BETWEEN '<from>' AND '<to>'`, and
 *   `$__timeFrom()` / `$__timeTo()` → the quoted instants.
 *
 * A macro or a variable (in any other syntax or format) it does not know is an
 * error, so that a query cannot reach PostgreSQL half expanded.
 */
export function expandMacros(rawSql: string, from: Date, to: Date, variables: Readonly<Record<string, readonly string[]>> = {}): string {
  const f = `'${from.toISOString()}'`;
  const t = `'${to.toISOString()}'`;
  const out = rawSql
    .replace(/\$\{(\w+):sqlstring\}/g, (whole, name: string) => {
      const values = variables[name];
      if (values === undefined) throw new Error(`no value given for the variable ${whole}: ${rawSql}`);
      return values.map((v) => `'${v.replaceAll("'", "''")}'`).join(',');
    })
    .replace(/\$__timeFilter\(\s*([^)]+?)\s*\)/g, (_, col: string) => `${col} BETWEEN ${f} AND ${t}`)
    .replace(/\$__timeFrom\(\)/g, f)
    .replace(/\$__timeTo\(\)/g, t);
  const left = /\$__\w+|\$\{[^}]*\}|\$[A-Za-z]\w*|\[\[\w+\]\]/.exec(out);
  if (left) throw new Error(`${left[0].startsWith('$__') ? 'macro' : 'variable'} ${left[0]} is not expanded by the test helper: ${rawSql}`);
  return out;
}

/** A panel of a synthesized dashboard, as far as these tests read it. */
export interface Panel {
  title: string;
  type: string;
  targets?: Array<{ rawSql?: string; expr?: string; format?: string; datasource?: { type?: string; uid?: string } }>;
  transformations?: Array<{ id: string; options: Record<string, unknown> }>;
}

/** Each SQL query of a dashboard's panels, with its panel's title. */
export function sqlQueries(panels: readonly Panel[]): Array<{ title: string; sql: string }> {
  return panels.flatMap((p) => (p.targets ?? []).filter((t) => t.rawSql !== undefined).map((t) => ({ title: p.title, sql: t.rawSql! })));
}
