import type { RuleFile, RuleFileGroup, RuleFileRule } from '../../authoring/index.js';
import { parseYamlOnce } from '../yaml-cache.js';
import { parseDuration } from './duration.js';
import type { RuleFinding } from './finding.js';

/** The fields Prometheus reads in a group and in a rule; it refuses a file with any other. */
const GROUP_KEYS = new Set(['name', 'interval', 'query_offset', 'limit', 'labels', 'rules']);
const RULE_KEYS = new Set(['alert', 'record', 'expr', 'for', 'keep_firing_for', 'labels', 'annotations']);
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;

/** The line of each rule parsed here, for findings; kept beside the rule so that the rule file stays what Prometheus reads. */
export const RULE_LINES = new WeakMap<RuleFileRule, number>();

/** A rule file's text parsed into the shape Prometheus reads; problems become findings instead of exceptions. */
export function parseRuleFileText(file: string, text: string): { file?: RuleFile; findings: RuleFinding[] } {
  let doc: unknown;
  try {
    doc = parseYamlOnce(text);
  } catch (e) {
    return { findings: [{ file, group: '', rule: '', check: 'yaml/parse', level: 'error', policy: false, message: `is not YAML: ${(e as Error).message.split('\n')[0]}` }] };
  }
  const structural = (group: string, rule: string, message: string, line?: number): RuleFinding => ({
    file,
    group,
    rule,
    check: 'rule/structure',
    level: 'error',
    policy: false,
    message,
    ...(line !== undefined ? { line } : {}),
  });
  // Prometheus loads an empty file, `null` and `{}` as a file without groups.
  if (doc === null || doc === undefined) return { file: { groups: [] }, findings: [] };
  if (typeof doc !== 'object' || Array.isArray(doc)) return { findings: [structural('', '', 'is not a rule file: expected a map with a "groups" list')] };
  const top = doc as Record<string, unknown>;
  const unknownTop = Object.keys(top).filter((k) => k !== 'groups');
  if (unknownTop.length > 0) return { findings: [structural('', '', `field "${unknownTop[0]}" is not part of a rule file (only "groups")`)] };
  const rawGroups = top['groups'] ?? [];
  if (!Array.isArray(rawGroups)) return { findings: [structural('', '', '"groups" must be a list')] };

  const findings: RuleFinding[] = [];
  const total = rawGroups.reduce((n: number, g) => n + (Array.isArray((g as { rules?: unknown } | null)?.rules) ? (g as { rules: unknown[] }).rules.length : 0), 0);
  const found = ruleLines(text);
  // A line per rule only when the scan found exactly one key per rule (block style, no look-alike keys).
  const lines = found.length === total ? found : [];
  let ruleIndex = 0;
  const groups: RuleFileGroup[] = [];
  const groupNames = new Set<string>();
  for (const [gi, raw] of rawGroups.entries()) {
    if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
      findings.push(structural(`#${gi + 1}`, '', 'a group must be a map with "name" and "rules"'));
      continue;
    }
    const g = raw as Record<string, unknown>;
    const name = typeof g['name'] === 'string' ? g['name'] : '';
    const label = name || `#${gi + 1}`;
    if (name === '') findings.push(structural(label, '', 'a group needs a "name"'));
    else if (groupNames.has(name)) findings.push({ ...structural(label, '', `group "${name}" appears twice in the file; Prometheus refuses the file`), check: 'group/duplicate' });
    groupNames.add(name);
    for (const k of Object.keys(g)) if (!GROUP_KEYS.has(k)) findings.push(structural(label, '', `field "${k}" is not part of a group; Prometheus refuses the file`));
    for (const k of ['interval', 'query_offset'] as const) {
      if (g[k] !== undefined && parseDuration(String(g[k])) === undefined) findings.push(structural(label, '', `${k} "${String(g[k])}" is not a Prometheus duration`));
    }
    const rawRules = g['rules'] ?? [];
    if (!Array.isArray(rawRules)) {
      findings.push(structural(label, '', '"rules" must be a list'));
      continue;
    }
    const rules: RuleFileRule[] = [];
    for (const [ri, rr] of rawRules.entries()) {
      const line = lines[ruleIndex++];
      if (rr === null || typeof rr !== 'object' || Array.isArray(rr)) {
        findings.push(structural(label, `#${ri + 1}`, 'a rule must be a map', line));
        continue;
      }
      const r = rr as Record<string, unknown>;
      const ruleName = typeof r['alert'] === 'string' ? r['alert'] : typeof r['record'] === 'string' ? r['record'] : `#${ri + 1}`;
      const before = findings.length;
      const at = (message: string) => findings.push(structural(label, ruleName, message, line));
      for (const k of Object.keys(r)) if (!RULE_KEYS.has(k)) at(`field "${k}" is not part of a rule; Prometheus refuses the file`);
      if ((r['alert'] === undefined) === (r['record'] === undefined)) at('a rule needs exactly one of "alert" and "record"');
      else if (r['record'] !== undefined && !METRIC_NAME.test(String(r['record']))) at(`record "${String(r['record'])}" is not a valid metric name`);
      else if (r['alert'] !== undefined && String(r['alert']).trim() === '') at('"alert" must not be empty');
      if (typeof r['expr'] !== 'string' && typeof r['expr'] !== 'number') at('has no expression');
      if (r['record'] !== undefined) for (const k of ['for', 'keep_firing_for', 'annotations']) if (r[k] !== undefined) at(`a recording rule cannot have "${k}"`);
      for (const k of ['for', 'keep_firing_for']) {
        if (r[k] !== undefined && parseDuration(String(r[k])) === undefined) findings.push({ ...structural(label, ruleName, `"${k}: ${String(r[k])}" is not a Prometheus duration`, line), check: 'alerts/for' });
      }
      for (const field of ['labels', 'annotations'] as const) {
        const map = r[field];
        if (map === undefined || map === null) continue;
        if (typeof map !== 'object' || Array.isArray(map)) {
          at(`"${field}" must be a map`);
          continue;
        }
        for (const key of Object.keys(map)) {
          if (!LABEL_NAME.test(key)) at(`${field}.${key} is not a valid name ([a-zA-Z_][a-zA-Z0-9_]*)`);
          else if (field === 'labels' && key.startsWith('__')) at(`labels.${key} is reserved ("__" prefix)`);
        }
      }
      if (findings.length > before) continue;
      const rule = toRule(r);
      if (line !== undefined) RULE_LINES.set(rule, line);
      rules.push(rule);
    }
    groups.push({ name: label, ...(g['interval'] !== undefined ? { interval: String(g['interval']) } : {}), ...(typeof g['limit'] === 'number' ? { limit: g['limit'] } : {}), rules });
  }
  return { file: { groups }, findings };
}

const strings = (m: unknown): Record<string, string> | undefined =>
  m && typeof m === 'object' ? Object.fromEntries(Object.entries(m as Record<string, unknown>).map(([k, v]) => [k, v === null ? '' : String(v)])) : undefined;

function toRule(r: Record<string, unknown>): RuleFileRule {
  const labels = strings(r['labels']);
  const annotations = strings(r['annotations']);
  return {
    ...(r['alert'] !== undefined ? { alert: String(r['alert']) } : {}),
    ...(r['record'] !== undefined ? { record: String(r['record']) } : {}),
    expr: String(r['expr']),
    ...(r['for'] !== undefined ? { for: String(r['for']) } : {}),
    ...(r['keep_firing_for'] !== undefined ? { keep_firing_for: String(r['keep_firing_for']) } : {}),
    ...(labels ? { labels } : {}),
    ...(annotations ? { annotations } : {}),
  };
}

/** 1-based lines of the `alert:` and `record:` keys, in document order (block-style YAML; flow style gives none). */
export function ruleLines(text: string): number[] {
  const out: number[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) if (/^\s*(?:-\s+)?(?:alert|record)\s*:/.test(lines[i]!)) out.push(i + 1);
  return out;
}
