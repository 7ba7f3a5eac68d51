import type { CheckLevel, ReportedFinding } from '../check-report.js';

/** One problem in a rule file, addressed by file, group and rule. */
export interface RuleFinding {
  readonly file: string;
  /** The group's name; empty for a problem of the file itself. */
  readonly group: string;
  /** Alert or recording rule name; empty for a problem of the file or group. */
  readonly rule: string;
  /** e.g. `promql/rate`, `alerts/template`, `unknown-metric`. */
  readonly check: string;
  readonly level: CheckLevel;
  /** House policy (a runbook, a severity) rather than a defect. */
  readonly policy: boolean;
  readonly message: string;
  /** 1-based line of the rule in its file, when known. */
  readonly line?: number;
}

/** Where a rule finding is, as the reports print it: `group G: rule R`. */
export function ruleWhere(f: Pick<RuleFinding, 'group' | 'rule'>): string {
  return [f.group ? `group ${f.group}` : '', f.rule ? `rule ${f.rule}` : ''].filter(Boolean).join(': ');
}

export function toReportedFinding(f: RuleFinding): ReportedFinding {
  return { file: f.file, where: ruleWhere(f), check: f.check, level: f.level, policy: f.policy, message: f.message, ...(f.line !== undefined ? { line: f.line } : {}) };
}

/** One line: file, group, rule, level, check and reason. */
export function formatRuleFinding(f: RuleFinding): string {
  return `${f.file}${f.line !== undefined ? `:${f.line}` : ''}: ${f.group ? `group ${f.group}: ` : ''}${f.rule ? `${f.rule}: ` : ''}${f.level}${f.policy ? ' (policy)' : ''} [${f.check}] ${f.message}`;
}
