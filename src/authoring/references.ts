import { closestName } from '../config/closest-name.js';
import { type ConfigIssue, fieldPath } from '../config/errors.js';
import { isPlainObject } from '../config/merge.js';
import type { RuleGroup } from './rules.js';

/** What one alert name stands for in an environment's rules. */
export interface AlertReference {
  /** How many alerting rules carry the name (the burn-rate windows of an SLO share one). */
  readonly rules: number;
  /** Whether every one of them has a threshold an environment may override. */
  readonly hasThreshold: boolean;
}

/**
 * The names an environment file may refer to: its alerts (for
 * `alerting.overrides`) and its dashboards' uids (for `dashboards.drop`).
 * They depend on the rule areas and dashboards a user adds, so whoever loads
 * environments says what they are.
 */
export interface EnvironmentReferences {
  readonly alerts: ReadonlyMap<string, AlertReference>;
  readonly dashboards: readonly string[];
}

/** The alert names of rule groups, by file or as one list, with what each stands for. */
export function alertReferences(
  ruleGroups: Readonly<Record<string, readonly RuleGroup[]>> | readonly RuleGroup[],
): Map<string, AlertReference> {
  const groups = Array.isArray(ruleGroups) ? (ruleGroups as readonly RuleGroup[]) : Object.values(ruleGroups).flat();
  const alerts = new Map<string, AlertReference>();
  for (const g of groups) {
    for (const r of g.rules) {
      if (r.kind !== 'alert') continue;
      const seen = alerts.get(r.name);
      alerts.set(r.name, {
        rules: (seen?.rules ?? 0) + 1,
        hasThreshold: (seen?.hasThreshold ?? true) && r.exprFor !== undefined,
      });
    }
  }
  return alerts;
}

/** The references of an environment from its rule groups (before overrides) and the uids of its dashboards. */
export function environmentReferences(
  ruleGroups: Readonly<Record<string, readonly RuleGroup[]>> | readonly RuleGroup[],
  dashboardUids: Iterable<string>,
): EnvironmentReferences {
  return { alerts: alertReferences(ruleGroups), dashboards: [...dashboardUids] };
}

/**
 * Problems of `alerting.overrides`: every name must be an alert (the closest
 * name is suggested); a threshold only applies to an alert that has one;
 * severity and threshold only to a name defined by one rule (the burn-rate
 * rules of an SLO share a name). Malformed values are left to the schema.
 */
export function overrideIssues(overrides: unknown, alerts: ReadonlyMap<string, AlertReference>): ConfigIssue[] {
  if (!isPlainObject(overrides)) return [];
  const issues: ConfigIssue[] = [];
  for (const [name, o] of Object.entries(overrides)) {
    const path = fieldPath(['alerting', 'overrides', name]);
    const alert = alerts.get(name);
    if (alert === undefined) {
      const near = closestName(name, alerts.keys());
      issues.push({ path, message: `names no alert${near ? `; did you mean "${near}"?` : ' (see the alert names in dist/<env>.files/rules/)'}` });
      continue;
    }
    if (!isPlainObject(o)) continue;
    if (o.threshold !== undefined && !alert.hasThreshold) {
      issues.push({ path: `${path}.threshold`, message: `${name} has no threshold to override (its expression is fixed)`, found: o.threshold });
    }
    if (alert.rules > 1 && (o.severity !== undefined || o.threshold !== undefined)) {
      issues.push({
        path,
        message: `${name} is defined by ${alert.rules} rules (e.g. the burn-rate windows of an SLO): only "enabled" and "for" apply to all of them`,
      });
    }
  }
  return issues;
}

/** Problems of `dashboards.drop`: every uid must name a dashboard (the closest uid is suggested). */
export function dropIssues(drop: unknown, dashboards: readonly string[]): ConfigIssue[] {
  if (!Array.isArray(drop)) return [];
  return drop.flatMap((uid: unknown, i): ConfigIssue[] => {
    if (typeof uid !== 'string' || dashboards.includes(uid)) return [];
    const near = closestName(uid, dashboards);
    return [{ path: fieldPath(['dashboards', 'drop', i]), message: `names no shipped dashboard${near ? `; did you mean "${near}"?` : ''}`, found: uid }];
  });
}

/**
 * Every name an environment file refers to that does not exist: its
 * `alerting.overrides` and `dashboards.drop`. `raw` is the file's own
 * fields, valid or not, so that these are reported with the schema's problems.
 */
export function environmentReferenceIssues(raw: unknown, refs: EnvironmentReferences): ConfigIssue[] {
  const alerting = isPlainObject(raw) ? raw.alerting : undefined;
  const dashboards = isPlainObject(raw) ? raw.dashboards : undefined;
  return [
    ...overrideIssues(isPlainObject(alerting) ? alerting.overrides : undefined, refs.alerts),
    ...dropIssues(isPlainObject(dashboards) ? dashboards.drop : undefined, refs.dashboards),
  ];
}
