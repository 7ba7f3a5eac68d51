import type { Finding } from '../finding.js';

/** How much a finding matters: error (the dashboard is broken or wrong), warning (likely wrong), info (a style note). */
export type DashboardCheckLevel = 'error' | 'warning' | 'info';

/** A dashboard finding with its level, and whether it states house policy rather than a defect. */
export interface DashboardFinding extends Finding {
  readonly level: DashboardCheckLevel;
  /** A convention (Grafana's dashboard-linter conventions, the stack's own) rather than a defect. */
  readonly policy: boolean;
  /** 1-based line in the dashboard's JSON text of what the finding is about, when it can be found. */
  readonly line?: number;
}

/** One check: its default level, whether it is policy, and what it asks, for help texts and SARIF rule descriptions. */
export interface DashboardCheckRule {
  readonly level: DashboardCheckLevel;
  readonly policy: boolean;
  readonly summary: string;
}

/**
 * Every dashboard check. The dashboard-linter rules keep that tool's names;
 * their levels are lower than its own where real dashboards show the rule to be
 * a convention rather than a defect (it reports every rule as an error). A
 * check may report some findings at another level than its default; those are
 * named where they are raised.
 */
export const DASHBOARD_CHECKS = {
  'dashboard-json': { level: 'error', policy: false, summary: 'the file is a JSON object' },
  'dashboard-size': { level: 'error', policy: false, summary: 'the JSON fits the ConfigMap Grafana is provisioned from (1 MiB)' },
  'dashboard-uid': { level: 'error', policy: false, summary: 'a uid of at most 40 characters, unique across the dashboards checked (warning when missing)' },
  'dashboard-panel-id': { level: 'error', policy: false, summary: 'panel ids are unique' },
  'dashboard-grid': { level: 'warning', policy: false, summary: 'panels inside the 24 columns, none overlapping another on the same line' },
  'dashboard-datasource': { level: 'error', policy: false, summary: 'every datasource and datasource variable a panel uses is provisioned and defined' },
  'dashboard-metric': { level: 'warning', policy: false, summary: 'every metric a query reads is in the chosen catalog or recorded by a rule' },
  'template-datasource': { level: 'warning', policy: true, summary: 'a dashboard with Prometheus or Loki queries selects its datasource through a variable (named datasource or <type>_datasource: info)' },
  'panel-datasource': { level: 'warning', policy: false, summary: 'a panel of a dashboard with a datasource variable queries through that variable' },
  'target-promql': { level: 'error', policy: false, summary: 'every Prometheus query Grafana runs parses, template variables substituted by type and value' },
  'target-logql': { level: 'error', policy: false, summary: 'every Loki query Grafana runs parses, template variables substituted' },
  'target-rate-interval': { level: 'info', policy: false, summary: 'rate() and irate() read [$__rate_interval] (warning for [$__interval], which can be shorter than two scrapes)' },
  'target-job': { level: 'info', policy: false, summary: 'when the dashboard has a $job variable, every selector filters by it' },
  'target-instance': { level: 'info', policy: false, summary: 'when the dashboard has an $instance variable, every selector filters by it' },
  'target-counter-agg': { level: 'info', policy: false, summary: 'a counter (by its metadata, or a _total name without metadata) is read through rate(), irate() or increase()' },
  'template-job': { level: 'info', policy: true, summary: 'a Prometheus dashboard has a job variable: a multi-select query on the datasource variable with allValue .+' },
  'template-instance': { level: 'info', policy: true, summary: 'a Prometheus dashboard has an instance variable: a multi-select query on the datasource variable with allValue .+' },
  'template-label-promql': { level: 'error', policy: false, summary: "a Prometheus query variable's query is label_names(), label_values(), metrics(), query_result() or a series selector, and its PromQL parses" },
  'template-on-time-change-reload': { level: 'info', policy: true, summary: 'query variables refresh when the time range changes' },
  'panel-title-description': { level: 'info', policy: true, summary: 'every panel that shows data has a title and a description' },
  'panel-units': { level: 'info', policy: true, summary: "every panel that shows numbers has a unit, one of Grafana's (another text is shown as a plain suffix)" },
  'panel-no-targets': { level: 'warning', policy: false, summary: 'every panel that shows data has a query' },
} as const satisfies Readonly<Record<string, DashboardCheckRule>>;

export type DashboardCheckId = keyof typeof DASHBOARD_CHECKS;

/**
 * Texts of the dashboard a path is about, in the order they appear in the
 * file (a panel's title, then a target's query): where to look for its line.
 */
export type Anchors = readonly string[];

/** Collects findings of one dashboard, each at its check's level unless the caller says otherwise. */
export class FindingSink {
  readonly findings: DashboardFinding[] = [];
  private anchorSource: ((path: string) => Anchors | undefined) | undefined;
  constructor(readonly object: string) {}

  add(check: DashboardCheckId, message: string, path?: string, level?: DashboardCheckLevel): void {
    const rule: DashboardCheckRule = DASHBOARD_CHECKS[check];
    this.findings.push({ check, object: this.object, ...(path !== undefined ? { path } : {}), message, level: level ?? rule.level, policy: rule.policy });
  }

  /** Says where the thing at a finding's path is written; asked only for the findings there are. */
  anchorsFrom(source: (path: string) => Anchors | undefined): void {
    this.anchorSource = source;
  }

  private anchorsOf(path: string | undefined): Anchors | undefined {
    return path === undefined ? undefined : this.anchorSource?.(path);
  }

  /**
   * The findings with the line of their last anchor in `text`; an earlier
   * anchor (a panel's title) picks among several places the last one is
   * written (a query repeated across panels). Only findings are located, so
   * the cost is theirs.
   */
  located(text: string): DashboardFinding[] {
    if (this.findings.length === 0) return this.findings;
    // Where the anchors are written, in one pass over the text's string tokens: the needles are gathered first,
    // and a token is compared (never copied) only when its length is one of theirs.
    const anchored = this.findings.map((f) => {
      const anchors = this.anchorsOf(f.path);
      if (!anchors || anchors.length === 0) return undefined;
      return { last: JSON.stringify(anchors.at(-1)), hint: anchors.length > 1 ? JSON.stringify(anchors[0]) : undefined };
    });
    const places = stringTokens(
      text,
      anchored.flatMap((a) => (a ? (a.hint !== undefined ? [a.last, a.hint] : [a.last]) : [])),
    );
    const offsets = anchored.map((a) => {
      if (!a) return undefined;
      const found = places.get(a.last) ?? [];
      let at = found[0];
      if (at === undefined) return undefined;
      const hint = a.hint !== undefined ? places.get(a.hint)?.[0] : undefined;
      if (hint !== undefined) for (const next of found) if (Math.abs(next - hint) < Math.abs(at - hint)) at = next;
      return at;
    });
    const lines = linesAt(text, offsets);
    return this.findings.map((f, i) => {
      const line = lines.get(offsets[i] ?? -1);
      return line === undefined ? f : { ...f, line };
    });
  }
}

/** The 1-based line of each offset, counting line breaks once up to the last offset. */
function linesAt(text: string, offsets: ReadonlyArray<number | undefined>): Map<number, number> {
  const sorted = [...new Set(offsets.filter((o): o is number => o !== undefined))].sort((a, b) => a - b);
  const lines = new Map<number, number>();
  let line = 1;
  let next = text.indexOf('\n');
  for (const offset of sorted) {
    while (next >= 0 && next < offset) {
      line++;
      next = text.indexOf('\n', next + 1);
    }
    lines.set(offset, line);
  }
  return lines;
}

/**
 * The offsets of the string tokens of a JSON text that equal one of
 * `needles` (JSON string tokens themselves), in order. The text is valid
 * JSON (it was parsed), so every quote outside a string opens one and every
 * unescaped quote inside one closes it.
 */
function stringTokens(text: string, needles: readonly string[]): Map<string, number[]> {
  const found = new Map<string, number[]>();
  if (needles.length === 0) return found;
  const byLength = new Map<number, string[]>();
  for (const n of new Set(needles)) {
    found.set(n, []);
    const list = byLength.get(n.length);
    if (list) list.push(n);
    else byLength.set(n.length, [n]);
  }
  for (let start = text.indexOf('"'); start >= 0; ) {
    let end = text.indexOf('"', start + 1);
    for (;;) {
      if (end < 0) return found;
      let slashes = 0;
      while (text.charCodeAt(end - 1 - slashes) === 92 /* \ */) slashes++;
      if (slashes % 2 === 0) break;
      end = text.indexOf('"', end + 1);
    }
    const candidates = byLength.get(end - start + 1);
    if (candidates) for (const n of candidates) if (text.startsWith(n, start)) found.get(n)!.push(start);
    start = text.indexOf('"', end + 1);
  }
  return found;
}
