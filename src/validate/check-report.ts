import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { parseRuleCheckSettings, type RuleCheckSettings, RuleSettingsError } from './rules/settings.js';

/** How much a finding matters: a defect that breaks the rule or panel, something likely wrong, or a note on style. */
export type CheckLevel = 'error' | 'warning' | 'info';
export const CHECK_LEVELS: readonly CheckLevel[] = ['error', 'warning', 'info'];

/** One finding as the check commands print it. */
export interface ReportedFinding {
  /** The file as given on the command line. */
  readonly file: string;
  /** `group G: rule R`, `panel 4 "Latency"`, `variable job`; empty for the file itself. */
  readonly where: string;
  /** e.g. `promql/rate`, `target-rate-interval`. */
  readonly check: string;
  readonly level: CheckLevel;
  /** House policy (e.g. "a runbook is required") rather than a defect. */
  readonly policy: boolean;
  readonly message: string;
  /** 1-based line in the file when known. */
  readonly line?: number;
}

export type ReportFormat = 'text' | 'json' | 'sarif' | 'github';
export const REPORT_FORMATS: readonly ReportFormat[] = ['text', 'json', 'sarif', 'github'];

/** One entry of `disable`: a check turned off everywhere, or only for files matching one of `paths` (globs). */
export interface DisabledCheck {
  readonly check: string;
  readonly paths?: readonly string[];
}

/** The checks' configuration file (`.obstack-checks.yaml`). */
export interface CheckConfig {
  readonly disable: readonly DisabledCheck[];
  /** A level per check id, replacing the level the check reports. */
  readonly levels: Readonly<Record<string, CheckLevel>>;
  /** Settings of the rule checks (required labels and annotations, names, `for`, selectors, aggregations, scrape interval). */
  readonly rules: RuleCheckSettings;
  /** Settings of the dashboard checks, read by `check dashboards`. */
  readonly dashboards: Readonly<Record<string, unknown>>;
}

export const EMPTY_CHECK_CONFIG: CheckConfig = { disable: [], levels: {}, rules: {}, dashboards: {} };

/** A configuration file that cannot be used; the message names the field. */
export class CheckConfigError extends Error {
  readonly code = 'E_CHECK_CONFIG';
  constructor(message: string) {
    super(message);
    this.name = 'CheckConfigError';
  }
}

const TOP_KEYS = new Set(['disable', 'levels', 'rules', 'dashboards']);

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Reads and checks a configuration file; every error names the file and the field. */
export function loadCheckConfig(path: string): CheckConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new CheckConfigError(`${path}: cannot be read: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
  }
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (e) {
    throw new CheckConfigError(`${path}: is not YAML: ${(e as Error).message.split('\n')[0]}`);
  }
  try {
    return parseCheckConfig(doc);
  } catch (e) {
    if (e instanceof CheckConfigError || e instanceof RuleSettingsError) throw new CheckConfigError(`${path}: ${e.message}`);
    throw e;
  }
}

/** Checks a parsed configuration document (an empty document is the empty configuration). */
export function parseCheckConfig(doc: unknown): CheckConfig {
  if (doc === null || doc === undefined) return EMPTY_CHECK_CONFIG;
  if (!isRecord(doc)) throw new CheckConfigError('must be a map with disable, levels, rules or dashboards');
  for (const k of Object.keys(doc)) if (!TOP_KEYS.has(k)) throw new CheckConfigError(`${k}: unknown field (expected one of ${[...TOP_KEYS].join(', ')})`);
  const disable: DisabledCheck[] = [];
  const rawDisable = doc['disable'] ?? [];
  if (!Array.isArray(rawDisable)) throw new CheckConfigError('disable: must be a list of { check, paths }');
  for (const [i, entry] of rawDisable.entries()) {
    const at = `disable[${i}]`;
    if (typeof entry === 'string') {
      disable.push({ check: entry });
      continue;
    }
    if (!isRecord(entry)) throw new CheckConfigError(`${at}: must be a check id or { check, paths }`);
    for (const k of Object.keys(entry)) if (k !== 'check' && k !== 'paths') throw new CheckConfigError(`${at}.${k}: unknown field (expected check or paths)`);
    if (typeof entry['check'] !== 'string' || entry['check'] === '') throw new CheckConfigError(`${at}.check: must be a check id such as promql/fragile`);
    const paths = entry['paths'];
    if (paths !== undefined && (!Array.isArray(paths) || paths.some((p) => typeof p !== 'string'))) throw new CheckConfigError(`${at}.paths: must be a list of globs`);
    disable.push({ check: entry['check'], ...(paths !== undefined ? { paths: paths as string[] } : {}) });
  }
  const levels: Record<string, CheckLevel> = {};
  const rawLevels = doc['levels'] ?? {};
  if (!isRecord(rawLevels)) throw new CheckConfigError('levels: must be a map of check id to error, warning or info');
  for (const [check, level] of Object.entries(rawLevels)) {
    if (!CHECK_LEVELS.includes(level as CheckLevel)) throw new CheckConfigError(`levels.${check}: must be error, warning or info, got ${JSON.stringify(level)}`);
    levels[check] = level as CheckLevel;
  }
  const dashboards = doc['dashboards'] ?? {};
  if (!isRecord(dashboards)) throw new CheckConfigError('dashboards: must be a map');
  let rules: RuleCheckSettings;
  try {
    rules = parseRuleCheckSettings(doc['rules'] ?? {}, 'rules');
  } catch (e) {
    throw e instanceof RuleSettingsError ? new CheckConfigError(e.message) : e;
  }
  return { disable, levels, rules, dashboards };
}

/** A glob (`*` within a folder, `**` across folders, `?` one character) as an anchored regular expression. */
export function globToRegExp(glob: string): RegExp {
  let out = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '*') {
      if (glob[i + 1] === '*') {
        i++;
        if (glob[i + 1] === '/') {
          i++;
          out += '(?:.*/)?';
        } else out += '.*';
      } else out += '[^/]*';
    } else if (c === '?') out += '[^/]';
    else out += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${out}$`);
}

/** Whether a file given on the command line matches a glob: as written, without a leading `./`, or by any trailing part of its path. */
function pathMatches(file: string, re: RegExp): boolean {
  const plain = file.replace(/\\/g, '/').replace(/^\.\//, '');
  if (re.test(plain)) return true;
  const parts = plain.split('/');
  for (let i = 1; i < parts.length; i++) if (re.test(parts.slice(i).join('/'))) return true;
  return false;
}

/** The findings the configuration keeps, with the levels it sets. */
export function applyCheckConfig(findings: readonly ReportedFinding[], config: CheckConfig): ReportedFinding[] {
  const rules = config.disable.map((d) => ({ check: d.check, paths: d.paths?.map(globToRegExp) }));
  const out: ReportedFinding[] = [];
  for (const f of findings) {
    if (rules.some((r) => (r.check === f.check || r.check === '*') && (r.paths === undefined || r.paths.some((p) => pathMatches(f.file, p))))) continue;
    const level = config.levels[f.check];
    out.push(level !== undefined && level !== f.level ? { ...f, level } : f);
  }
  return out;
}

/** Exit code: 1 when any finding is at level error (after the configuration), else 0. */
export function exitCodeFor(findings: readonly ReportedFinding[]): number {
  return findings.some((f) => f.level === 'error') ? 1 : 0;
}

/** Counts by level, policy apart: `2 errors, 1 warning, 3 notes; 5 policy findings`, or `no findings`. */
export function summarizeFindings(findings: readonly ReportedFinding[]): string {
  if (findings.length === 0) return 'no findings';
  const defects = findings.filter((f) => !f.policy);
  const plural = (n: number, one: string, many: string) => `${n} ${n === 1 ? one : many}`;
  const parts = [
    plural(defects.filter((f) => f.level === 'error').length, 'error', 'errors'),
    plural(defects.filter((f) => f.level === 'warning').length, 'warning', 'warnings'),
    plural(defects.filter((f) => f.level === 'info').length, 'note', 'notes'),
  ];
  const policy = findings.length - defects.length;
  return `${parts.join(', ')}${policy > 0 ? `; ${plural(policy, 'policy finding', 'policy findings')}` : ''}`;
}

function textLine(f: ReportedFinding): string {
  return `${f.file}${f.line !== undefined ? `:${f.line}` : ''}: ${f.where ? `${f.where}: ` : ''}${f.level} [${f.check}] ${f.message}`;
}

/** Escapes a GitHub workflow command's message (`%`, CR, LF) or property (also `:` and `,`). */
function githubEscape(value: string, property: boolean): string {
  const s = value.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
  return property ? s.replace(/:/g, '%3A').replace(/,/g, '%2C') : s;
}

const GITHUB_COMMAND: Readonly<Record<CheckLevel, string>> = { error: 'error', warning: 'warning', info: 'notice' };
const SARIF_LEVEL: Readonly<Record<CheckLevel, string>> = { error: 'error', warning: 'warning', info: 'note' };

function sarif(findings: readonly ReportedFinding[], tool: 'rules' | 'dashboards'): object {
  const ids = [...new Set(findings.map((f) => f.check))].sort();
  return {
    $schema: 'https://json.schemastore.org/sarif-2.1.0.json',
    version: '2.1.0',
    runs: [
      {
        tool: {
          driver: {
            name: `obstack check ${tool}`,
            rules: ids.map((id) => ({ id, shortDescription: { text: id } })),
          },
        },
        results: findings.map((f) => ({
          ruleId: f.check,
          ruleIndex: ids.indexOf(f.check),
          level: SARIF_LEVEL[f.level],
          message: { text: f.where ? `${f.where}: ${f.message}` : f.message },
          locations: [
            {
              physicalLocation: {
                artifactLocation: { uri: f.file.replace(/\\/g, '/') },
                ...(f.line !== undefined ? { region: { startLine: f.line } } : {}),
              },
            },
          ],
          properties: { policy: f.policy, where: f.where },
        })),
      },
    ],
  };
}

/**
 * The findings as one of the output formats: `text` (defects first, then
 * house policy, one a line), `json` (an array), `sarif` (SARIF 2.1.0 for code
 * scanning) or `github` (workflow commands that annotate a pull request).
 */
export function formatReport(findings: readonly ReportedFinding[], format: ReportFormat, tool: 'rules' | 'dashboards'): string {
  switch (format) {
    case 'json':
      return `${JSON.stringify(findings, null, 2)}\n`;
    case 'sarif':
      return `${JSON.stringify(sarif(findings, tool), null, 2)}\n`;
    case 'github':
      return findings
        .map((f) => {
          const props = [`file=${githubEscape(f.file, true)}`, ...(f.line !== undefined ? [`line=${f.line}`] : []), `title=${githubEscape(`${f.check}${f.policy ? ' (policy)' : ''}`, true)}`];
          return `::${GITHUB_COMMAND[f.level]} ${props.join(',')}::${githubEscape(f.where ? `${f.where}: ${f.message}` : f.message, false)}\n`;
        })
        .join('');
    case 'text': {
      const defects = findings.filter((f) => !f.policy);
      const policy = findings.filter((f) => f.policy);
      const lines = defects.map(textLine);
      if (policy.length > 0) lines.push(...(defects.length > 0 ? [''] : []), 'house policy:', ...policy.map((f) => `  ${textLine(f)}`));
      return lines.length > 0 ? `${lines.join('\n')}\n` : '';
    }
  }
}
