import { closestName } from '../config/closest-name.js';
import { ConfigError } from '../config/index.js';
import type { AlertOverrides } from '../config/rule-overrides.js';
import { alertReferences, overrideIssues } from './references.js';
import type { AlertRule, RuleGroup } from './rules.js';

/** The name among `candidates` closest to a misspelt `input`, when plausibly a typo of it (one implementation, in src/config). */
export const suggestName: (input: string, candidates: Iterable<string>) => string | undefined = closestName;

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
  const issues = overrideIssues(overrides, alertReferences(files));
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
      const forDuration = (o.for as AlertRule['for']) ?? r.for;
      // Texts that state the threshold or `for` are rendered again with the values in effect.
      const texts = r.textsFor !== undefined && (o.threshold !== undefined || o.for !== undefined) ? r.textsFor({ threshold, for: forDuration }) : {};
      return [
        {
          ...r,
          ...(o.for !== undefined ? { for: o.for as AlertRule['for'] } : {}),
          ...(exprFor !== undefined && threshold !== undefined ? { threshold, expr: exprFor(threshold) } : {}),
          labels: { ...r.labels, ...(o.severity ? { severity: o.severity } : {}) },
          annotations: { ...r.annotations, ...texts },
        },
      ];
    }),
  }));
}
