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
    let starts: number[] | undefined;
    const lineAt = (offset: number): number => {
      if (!starts) {
        starts = [0];
        for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) starts.push(i + 1);
      }
      let lo = 0;
      let hi = starts.length - 1;
      while (lo < hi) {
        const mid = (lo + hi + 1) >> 1;
        if (starts[mid]! <= offset) lo = mid;
        else hi = mid - 1;
      }
      return lo + 1;
    };
    // Where each string is written, in one pass over the text: many findings, each with anchors to look up.
    let literals: Map<string, number[]> | undefined;
    const occurrences = (needle: string): readonly number[] => {
      if (!literals) {
        literals = new Map();
        for (const m of text.matchAll(/"(?:[^"\\\n]|\\.)*"/g)) {
          const list = literals.get(m[0]);
          if (list) list.push(m.index);
          else literals.set(m[0], [m.index]);
        }
      }
      return literals.get(needle) ?? [];
    };
    return this.findings.map((f) => {
      const anchors = this.anchorsOf(f.path);
      if (!anchors || anchors.length === 0) return f;
      const places = occurrences(JSON.stringify(anchors.at(-1)));
      let at = places[0];
      if (at === undefined) return f;
      const hint = anchors.length > 1 ? occurrences(JSON.stringify(anchors[0]))[0] : undefined;
      if (hint !== undefined) for (const next of places) if (Math.abs(next - hint) < Math.abs(at - hint)) at = next;
      return { ...f, line: lineAt(at) };
    });
  }
}
