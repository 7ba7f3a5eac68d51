import { parse } from 'yaml';
import type { RuleFile, RuleFileRule } from './rules.js';
import { isDuration, isSeverity, LABEL_NAME } from './types.js';

export interface ImportOptions {
  /** Module the generated file imports the DSL from. @default '../src/authoring/index.js' (a file in rules/) */
  readonly importFrom?: string;
  /** Name of the exported function. @default 'importedRules' */
  readonly functionName?: string;
  /** Named in the header comment. */
  readonly source?: string;
}

/** A rule file that cannot be imported; names what is wrong. */
export class ImportError extends Error {
  readonly code = 'E_IMPORT';
  constructor(message: string) {
    super(message);
    this.name = 'ImportError';
  }
}

const GROUP_KEYS = new Set(['name', 'interval', 'limit', 'rules']);
const RULE_KEYS = new Set(['alert', 'record', 'expr', 'for', 'keep_firing_for', 'labels', 'annotations']);
const STRICT_ANNOTATIONS = new Set(['summary', 'description', 'runbook_url', 'dashboard_uid']);

/** A string as TypeScript source: a template literal for multi-line text, a JSON string otherwise. */
function str(value: string): string {
  if (!value.includes('\n')) return JSON.stringify(value);
  return `\`${value.replace(/\\/g, '\\\\').replace(/`/g, '\\`').replace(/\$\{/g, '\\${')}\``;
}

function key(name: string): string {
  return /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(name) ? name : JSON.stringify(name);
}

function record(map: Readonly<Record<string, string>>, indent: string): string {
  const entries = Object.entries(map);
  if (entries.length === 0) return '{}';
  return `{\n${entries.map(([k, v]) => `${indent}  ${key(k)}: ${str(String(v))},`).join('\n')}\n${indent}}`;
}

/** Whether an alert fits `alert()`: P1–P4 severity, a service, and exactly the annotations alert() writes. */
function fitsAlert(r: RuleFileRule): boolean {
  const labels = r.labels ?? {};
  const annotations = r.annotations ?? {};
  if (!/^[A-Z][A-Za-z0-9]*$/.test(r.alert ?? '')) return false;
  if (!isSeverity(labels['severity']) || !labels['service']) return false;
  if (!annotations['summary'] || !annotations['description'] || !annotations['runbook_url']) return false;
  if (Object.keys(labels).some((k) => k === 'alertname')) return false;
  // Other annotations go to `annotations`, which refuses nothing that is a valid name.
  return Object.keys(annotations).every((k) => STRICT_ANNOTATIONS.has(k) || LABEL_NAME.test(k));
}

function ruleSource(r: RuleFileRule, indent: string): string {
  const i = `${indent}  `;
  const lines: string[] = [];
  const expr = typeof r.expr === 'number' ? String(r.expr) : r.expr;
  if (r.record !== undefined) {
    lines.push(`${i}record: ${str(r.record)},`, `${i}expr: ${str(expr)},`);
    if (r.labels && Object.keys(r.labels).length > 0) lines.push(`${i}labels: ${record(r.labels, i)},`);
    return `${indent}record({\n${lines.join('\n')}\n${indent}})`;
  }
  if (fitsAlert(r)) {
    const { severity, service, ...labels } = r.labels ?? {};
    const { summary, description, runbook_url: runbook, dashboard_uid: dashboard, ...annotations } = r.annotations ?? {};
    lines.push(`${i}alert: ${str(r.alert ?? '')},`, `${i}expr: ${str(expr)},`);
    if (r.for !== undefined) lines.push(`${i}for: ${str(String(r.for))},`);
    if (r.keep_firing_for !== undefined) lines.push(`${i}keepFiringFor: ${str(String(r.keep_firing_for))},`);
    lines.push(`${i}severity: ${str(severity ?? '')},`, `${i}service: ${str(service ?? '')},`);
    lines.push(`${i}summary: ${str(summary ?? '')},`, `${i}description: ${str(description ?? '')},`, `${i}runbook: ${str(runbook ?? '')},`);
    if (dashboard !== undefined) lines.push(`${i}dashboard: ${str(dashboard)},`);
    if (Object.keys(labels).length > 0) lines.push(`${i}labels: ${record(labels, i)},`);
    if (Object.keys(annotations).length > 0) lines.push(`${i}annotations: ${record(annotations, i)},`);
    return `${indent}alert({\n${lines.join('\n')}\n${indent}})`;
  }
  lines.push(`${i}alert: ${str(r.alert ?? '')},`, `${i}expr: ${str(expr)},`);
  if (r.for !== undefined) lines.push(`${i}for: ${str(String(r.for))},`);
  if (r.keep_firing_for !== undefined) lines.push(`${i}keepFiringFor: ${str(String(r.keep_firing_for))},`);
  if (r.labels && Object.keys(r.labels).length > 0) lines.push(`${i}labels: ${record(r.labels, i)},`);
  if (r.annotations && Object.keys(r.annotations).length > 0) lines.push(`${i}annotations: ${record(r.annotations, i)},`);
  return `${indent}rawAlert({\n${lines.join('\n')}\n${indent}})`;
}

/** Checks that a parsed file holds only what the DSL can express, so that compiling the import gives the same rules. */
function checkImportable(file: unknown): RuleFile {
  // Prometheus loads an empty file, `null`, `{}` and `groups: null` as a file without groups.
  if (file === null || file === undefined) return { groups: [] };
  if (typeof file !== 'object' || Array.isArray(file)) throw new ImportError('not a Prometheus rule file: expected a map with a "groups" list');
  for (const k of Object.keys(file)) if (k !== 'groups') throw new ImportError(`not a Prometheus rule file: field "${k}" (only "groups")`);
  const groups = (file as { groups?: unknown }).groups ?? [];
  if (!Array.isArray(groups)) throw new ImportError('not a Prometheus rule file: "groups" is not a list');
  for (const [gi, g] of (groups as Record<string, unknown>[]).entries()) {
    const where = `groups[${gi}]${typeof g['name'] === 'string' ? ` (${g['name']})` : ''}`;
    for (const k of Object.keys(g)) if (!GROUP_KEYS.has(k)) throw new ImportError(`${where}: field "${k}" is not supported by the DSL`);
    // `rules:` left empty (null) is a group without rules, as Prometheus reads it.
    if (g['rules'] === null || g['rules'] === undefined) g['rules'] = [];
    if (typeof g['name'] !== 'string' || !Array.isArray(g['rules'])) throw new ImportError(`${where}: needs a name and a rules list`);
    if (g['interval'] !== undefined && !isDuration(String(g['interval']))) throw new ImportError(`${where}: interval "${String(g['interval'])}" is not a duration`);
    for (const [ri, r] of (g['rules'] as Record<string, unknown>[]).entries()) {
      const rw = `${where}.rules[${ri}]`;
      for (const k of Object.keys(r)) if (!RULE_KEYS.has(k)) throw new ImportError(`${rw}: field "${k}" is not supported by the DSL`);
      if ((r['alert'] === undefined) === (r['record'] === undefined)) throw new ImportError(`${rw}: needs exactly one of alert and record`);
      if (typeof r['expr'] !== 'string' && typeof r['expr'] !== 'number') throw new ImportError(`${rw}: has no expression`);
      for (const k of ['for', 'keep_firing_for']) if (r[k] !== undefined && !isDuration(String(r[k]))) throw new ImportError(`${rw}: ${k} "${String(r[k])}" is not a duration`);
    }
  }
  return { groups: groups as RuleFile['groups'] };
}

/** Turns the text of a Prometheus rule file into a TypeScript module written with the DSL. */
export function importRuleFile(text: string, opts: ImportOptions = {}): string {
  let parsed: unknown;
  try {
    parsed = parse(text);
  } catch (e) {
    throw new ImportError(`not YAML: ${(e as Error).message.split('\n')[0]}`);
  }
  const file = checkImportable(parsed);
  const rules = file.groups.flatMap((g) => g.rules);
  const used = new Set<string>(file.groups.length > 0 ? ['group'] : []);
  for (const r of rules) used.add(r.record !== undefined ? 'record' : fitsAlert(r) ? 'alert' : 'rawAlert');
  const names = ['alert', 'group', 'rawAlert', 'record'].filter((n) => used.has(n));
  const groups = file.groups.map((g) => {
    const fields = [`      name: ${str(g.name)},`];
    if (g.interval !== undefined) fields.push(`      interval: ${str(String(g.interval))},`);
    if (g.limit !== undefined) fields.push(`      limit: ${Number(g.limit)},`);
    fields.push(`      rules: [\n${g.rules.map((r) => `${ruleSource(r, '        ')},`).join('\n')}\n      ],`);
    return `    group({\n${fields.join('\n')}\n    }),`;
  });
  return [
    `// Imported${opts.source ? ` from ${opts.source}` : ''} by \`obstack import-rules\`. rawAlert() keeps a rule as it was;`,
    '// move it to alert() (severity P1–P4, service, summary, description, runbook) and add tests when you adopt it.',
    `import { ${[...names, 'type RuleGroup'].join(', ')} } from ${JSON.stringify(opts.importFrom ?? '../src/authoring/index.js')};`,
    '',
    `export function ${opts.functionName ?? 'importedRules'}(): RuleGroup[] {`,
    '  return [',
    ...groups,
    '  ];',
    '}',
    '',
  ].join('\n');
}
