import type { RuleFile } from '../authoring/index.js';
import type { MetricCatalog } from './metric-catalog.js';
import { parsePromQL } from './promql-parse.js';
import { parseYamlOnce } from './yaml-cache.js';

/** One problem in a rule file, addressed by file, group and rule. */
export interface RuleFinding {
  readonly file: string;
  readonly group: string;
  /** Alert or recording rule name; empty for a problem of the file itself. */
  readonly rule: string;
  readonly check: string;
  readonly message: string;
}

export interface RuleLintOptions {
  /**
   * `stack`: our own rules — severity P1–P4, `service`, summary, description and runbook_url required.
   * `external`: a team's existing files — a severity of any value, a runbook_url and some text
   * (summary, description or message) required.
   */
  readonly profile: 'stack' | 'external';
  /** The metrics a rule may read; `false` turns the catalog check off. Recorded series of the linted files always count. */
  readonly catalog: MetricCatalog | false;
  /** More metric names to accept (`--known-metrics`). */
  readonly knownMetrics?: Iterable<string>;
}

export function formatRuleFinding(f: RuleFinding): string {
  return `${f.file}: ${f.group ? `group ${f.group}: ` : ''}${f.rule ? `${f.rule}: ` : ''}[${f.check}] ${f.message}`;
}

const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const DURATION = /^(\d+(ms|s|m|h|d|w|y))+$/;
const COUNTER_SUFFIX = /(_total|_count|_sum|_bucket)$/;
const SEVERITIES = new Set(['P1', 'P2', 'P3', 'P4']);

/** A rule file's text parsed into the shape Prometheus reads; problems become findings instead of exceptions. */
export function parseRuleFileText(file: string, text: string): { file?: RuleFile; findings: RuleFinding[] } {
  let doc: unknown;
  try {
    doc = parseYamlOnce(text);
  } catch (e) {
    return { findings: [{ file, group: '', rule: '', check: 'yaml', message: `is not YAML: ${(e as Error).message.split('\n')[0]}` }] };
  }
  const groups = (doc as { groups?: unknown } | null)?.groups;
  if (!Array.isArray(groups)) return { findings: [{ file, group: '', rule: '', check: 'rule-file', message: 'has no "groups" list' }] };
  const findings: RuleFinding[] = [];
  for (const g of groups as { name?: unknown; rules?: unknown }[]) {
    if (typeof g?.name !== 'string' || !Array.isArray(g.rules)) {
      findings.push({ file, group: String(g?.name ?? ''), rule: '', check: 'rule-file', message: 'a group needs a "name" and a "rules" list' });
    }
  }
  return findings.length > 0 ? { findings } : { file: doc as RuleFile, findings: [] };
}

/**
 * Lints rule files: every expression parses, rate/irate/increase/resets read
 * counters, no alert is defined twice with the same labels, the labels and
 * annotations a responder needs are there, and every metric read is in the
 * catalog or recorded by one of the files.
 */
export function lintRuleFiles(files: readonly { name: string; content: RuleFile }[], opts: RuleLintOptions): RuleFinding[] {
  const findings: RuleFinding[] = [];
  const recorded = new Set<string>();
  for (const f of files) for (const g of f.content.groups) for (const r of g.rules ?? []) if (typeof r.record === 'string') recorded.add(r.record);
  const known = new Set(opts.knownMetrics ?? []);
  const identities = new Map<string, string>();

  for (const f of files) {
    const groupNames = new Set<string>();
    for (const g of f.content.groups) {
      const at = (rule: string, check: string, message: string) => findings.push({ file: f.name, group: g.name, rule, check, message });
      if (groupNames.has(g.name)) at('', 'duplicate-group', `group "${g.name}" appears twice in the file`);
      groupNames.add(g.name);
      for (const r of g.rules ?? []) {
        const name = r.alert ?? r.record ?? '(unnamed)';
        if ((r.alert === undefined) === (r.record === undefined)) at(name, 'rule-kind', 'a rule needs exactly one of "alert" and "record"');
        if (typeof r.expr !== 'string' && typeof r.expr !== 'number') {
          at(name, 'promql-syntax', 'has no expression');
          continue;
        }
        const expr = String(r.expr);
        const parsed = parsePromQL(expr);
        for (const e of parsed.errors) at(name, 'promql-syntax', `expression does not parse: ${e}`);

        for (const c of parsed.counterFunctions) {
          if (c.metric === undefined) continue;
          const entry = opts.catalog ? opts.catalog.get(c.metric) : undefined;
          if (entry) {
            if (entry.type !== 'counter' && entry.type !== 'untyped') {
              at(name, 'counter-function', `${c.fn}() over ${c.metric}, a ${entry.type} (${entry.source}); ${c.fn}() only means something over a counter — use deriv() or delta() for a gauge`);
            }
          } else if (!COUNTER_SUFFIX.test(c.metric) && !recorded.has(c.metric) && !known.has(c.metric)) {
            at(name, 'counter-function', `${c.fn}() over ${c.metric}, which is not known as a counter (no _total, _count, _sum or _bucket suffix, and not typed counter in the metric catalog)`);
          }
        }

        if (opts.catalog) {
          const reported = new Set<string>();
          for (const s of parsed.selectors) {
            const m = s.metric;
            if (m === undefined || reported.has(m) || opts.catalog.has(m) || recorded.has(m) || known.has(m)) continue;
            reported.add(m);
            const near = nearest(m, [...opts.catalog.keys(), ...recorded, ...known]);
            at(name, 'unknown-metric', `reads ${m}, which no component of the catalog produces and no rule records${near ? ` (did you mean ${near}?)` : ''}`);
          }
        }

        if (r.for !== undefined && !DURATION.test(String(r.for))) at(name, 'duration', `"for: ${String(r.for)}" is not a Prometheus duration`);
        for (const [field, map] of [['labels', r.labels], ['annotations', r.annotations]] as const) {
          for (const key of Object.keys(map ?? {})) {
            if (!LABEL_NAME.test(key)) at(name, 'label-name', `${field}.${key} is not a valid name ([a-zA-Z_][a-zA-Z0-9_]*)`);
            else if (field === 'labels' && key.startsWith('__')) at(name, 'label-name', `labels.${key} is reserved ("__" prefix)`);
          }
        }
        if (r.alert === undefined) continue;

        const identity = `${r.alert}${JSON.stringify(Object.entries(r.labels ?? {}).sort())}`;
        const first = identities.get(identity);
        if (first) at(name, 'duplicate-alert', `alert ${r.alert} is defined twice with the same labels (first in ${first}); its alerts would overwrite each other`);
        else identities.set(identity, `${f.name} group ${g.name}`);

        const labels = r.labels ?? {};
        const annotations = r.annotations ?? {};
        const severity = labels['severity'];
        if (severity === undefined || severity === '') at(name, 'required-label', 'has no severity label');
        else if (opts.profile === 'stack' && !SEVERITIES.has(severity)) at(name, 'severity', `severity "${severity}" is not one of P1, P2, P3, P4`);
        if (opts.profile === 'stack') {
          if (!labels['service']) at(name, 'required-label', 'has no service label (inhibition matches on alertname and service)');
          for (const a of ['summary', 'description', 'runbook_url']) if (!annotations[a]) at(name, 'required-annotation', `has no ${a} annotation`);
        } else {
          if (!annotations['runbook_url']) at(name, 'required-annotation', 'has no runbook_url annotation');
          if (!annotations['summary'] && !annotations['description'] && !annotations['message']) {
            at(name, 'required-annotation', 'has no summary, description or message annotation');
          }
        }
      }
    }
  }
  return findings;
}

function nearest(input: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const c of candidates) {
    if (Math.abs(c.length - input.length) > 3) continue;
    const d = distance(input, c);
    if (d < bestDistance) [best, bestDistance] = [c, d];
  }
  return bestDistance <= Math.max(2, Math.floor(input.length / 8)) ? best : undefined;
}

function distance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) cur.push(Math.min((prev[j] ?? 0) + 1, (cur[j - 1] ?? 0) + 1, (prev[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1)));
    prev = cur;
  }
  return prev[b.length] ?? 0;
}
