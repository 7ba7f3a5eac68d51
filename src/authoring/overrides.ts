import { ConfigError, type ConfigIssue } from '../config/index.js';
import type { AlertOverrides } from '../config/rule-overrides.js';
import type { AlertRule, RuleGroup } from './rules.js';

/** The name among `candidates` closest to a misspelt `input`, when plausibly a typo of it. */
export function suggestName(input: string, candidates: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const c of candidates) {
    const d = distance(input.toLowerCase(), c.toLowerCase());
    if (d < bestDistance) [best, bestDistance] = [c, d];
  }
  return bestDistance <= Math.max(2, Math.floor(input.length / 3)) ? best : undefined;
}

function distance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur.push(Math.min((prev[j] ?? 0) + 1, (cur[j - 1] ?? 0) + 1, (prev[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1)));
    }
    prev = cur;
  }
  return prev[b.length] ?? 0;
}

/**
 * Applies an environment's `alerting.overrides` to rule groups. Every name must
 * be an alert that exists; a threshold only applies to an alert that has one;
 * severity and threshold only to a name defined by one rule (the four SLO
 * burn-rate rules share a name). Problems are reported together as a ConfigError.
 */
export function applyOverrides(
  files: Readonly<Record<string, readonly RuleGroup[]>>,
  overrides: AlertOverrides,
  source: string,
): Record<string, RuleGroup[]> {
  const byName = new Map<string, AlertRule[]>();
  for (const groups of Object.values(files)) {
    for (const g of groups) for (const r of g.rules) if (r.kind === 'alert') byName.set(r.name, [...(byName.get(r.name) ?? []), r]);
  }
  const issues: ConfigIssue[] = [];
  for (const [name, o] of Object.entries(overrides)) {
    const path = `alerting.overrides.${name}`;
    const rules = byName.get(name);
    if (!rules) {
      const near = suggestName(name, byName.keys());
      issues.push({ path, message: `names no alert${near ? `; did you mean "${near}"?` : ' (see the alert names in dist/<env>/rules/)'}` });
      continue;
    }
    if (o.threshold !== undefined && rules.some((r) => r.exprFor === undefined)) {
      issues.push({ path: `${path}.threshold`, message: `${name} has no threshold to override (its expression is fixed)`, found: o.threshold });
    }
    if (rules.length > 1 && (o.severity !== undefined || o.threshold !== undefined)) {
      issues.push({ path, message: `${name} is defined by ${rules.length} rules (e.g. the burn-rate windows of an SLO): only "enabled" and "for" apply to all of them` });
    }
  }
  if (issues.length > 0) throw new ConfigError(source, issues);
  return Object.fromEntries(Object.entries(files).map(([file, groups]) => [file, applyToGroups(groups, overrides)]));
}

function applyToGroups(groups: readonly RuleGroup[], overrides: AlertOverrides): RuleGroup[] {
  return groups.map((g) => ({
    ...g,
    rules: g.rules.flatMap((r) => {
      const o = r.kind === 'alert' ? overrides[r.name] : undefined;
      if (r.kind !== 'alert' || o === undefined) return [r];
      if (o.enabled === false) return [];
      const exprFor = r.exprFor;
      const threshold = o.threshold ?? r.threshold;
      return [
        {
          ...r,
          ...(o.for !== undefined ? { for: o.for as AlertRule['for'] } : {}),
          ...(exprFor !== undefined && threshold !== undefined ? { threshold, expr: exprFor(threshold) } : {}),
          labels: { ...r.labels, ...(o.severity ? { severity: o.severity } : {}) },
        },
      ];
    }),
  }));
}
