import { stringify } from 'yaml';
import { type Duration, isDuration, type Severity } from './types.js';

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const ALERT_NAME = /^[A-Z][A-Za-z0-9]*$/;

/** An alert as written in rules/: every field a responder needs is required. */
export interface AlertDefinition {
  /** UpperCamelCase, unique across the stack. */
  readonly alert: string;
  readonly expr: string;
  readonly for?: Duration;
  readonly severity: Severity;
  /** The component or service the alert is about: the `service` label inhibition matches on. */
  readonly service: string;
  readonly summary: string;
  readonly description: string;
  /** Where a responder reads what to do. */
  readonly runbook: string;
  /** uid of the dashboard that explains the alert. */
  readonly dashboard?: string;
  readonly labels?: Readonly<Record<string, string>>;
}

export interface RecordingDefinition {
  readonly record: string;
  readonly expr: string;
  readonly labels?: Readonly<Record<string, string>>;
}

export interface RuleGroup {
  readonly name: string;
  readonly interval?: Duration;
  readonly rules: readonly (AlertDefinition | RecordingDefinition)[];
}

/** A rule that cannot be compiled; names the rule and the field. */
export class RuleError extends Error {
  readonly code = 'E_RULE';
  constructor(
    readonly rule: string,
    readonly field: string,
    message: string,
  ) {
    super(`rule ${rule}: ${field} ${message}`);
    this.name = 'RuleError';
  }
}

function checkLabels(rule: string, field: string, labels: Readonly<Record<string, string>> | undefined): void {
  for (const name of Object.keys(labels ?? {})) {
    if (!LABEL_NAME.test(name) || name.startsWith('__')) {
      throw new RuleError(rule, `${field}.${name}`, 'is not a valid label name ([a-zA-Z_][a-zA-Z0-9_]*, no leading "__")');
    }
  }
}

/** Defines an alert; refuses what types cannot catch (names, empty texts, durations built at run time). */
export function alert(def: AlertDefinition): AlertDefinition {
  if (!ALERT_NAME.test(def.alert)) throw new RuleError(def.alert, 'alert', 'must be UpperCamelCase letters and digits');
  for (const field of ['expr', 'summary', 'description', 'runbook', 'service'] as const) {
    if (def[field].trim() === '') throw new RuleError(def.alert, field, 'must not be empty');
  }
  if (def.for !== undefined && !isDuration(def.for)) throw new RuleError(def.alert, 'for', `must be a duration such as "5m", got "${def.for}"`);
  checkLabels(def.alert, 'labels', def.labels);
  for (const reserved of ['severity', 'service']) {
    if (def.labels && reserved in def.labels) throw new RuleError(def.alert, `labels.${reserved}`, 'is set by the field of that name');
  }
  return def;
}

export function record(def: RecordingDefinition): RecordingDefinition {
  if (!METRIC_NAME.test(def.record)) throw new RuleError(def.record, 'record', 'is not a valid metric name');
  if (def.expr.trim() === '') throw new RuleError(def.record, 'expr', 'must not be empty');
  checkLabels(def.record, 'labels', def.labels);
  return def;
}

export function isAlert(rule: AlertDefinition | RecordingDefinition): rule is AlertDefinition {
  return 'alert' in rule;
}

/** Compiles rule groups into a Prometheus rule file. */
export function compileRuleFile(groups: readonly RuleGroup[]): string {
  const names = new Set<string>();
  const out = groups.map((g) => ({
    name: g.name,
    ...(g.interval ? { interval: g.interval } : {}),
    rules: g.rules.map((r) => {
      if (!isAlert(r)) return { record: r.record, expr: r.expr, ...(r.labels ? { labels: { ...r.labels } } : {}) };
      if (names.has(r.alert)) throw new RuleError(r.alert, 'alert', 'is defined twice');
      names.add(r.alert);
      return {
        alert: r.alert,
        expr: r.expr,
        ...(r.for ? { for: r.for } : {}),
        labels: { ...r.labels, severity: r.severity, service: r.service },
        annotations: {
          summary: r.summary,
          description: r.description,
          runbook_url: r.runbook,
          ...(r.dashboard ? { dashboard_uid: r.dashboard } : {}),
        },
      };
    }),
  }));
  return stringify({ groups: out }, { lineWidth: 0 });
}
