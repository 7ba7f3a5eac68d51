import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import { parseArgs } from 'node:util';
// Modules rather than the folders' indexes: `check rules` and `import-rules` run from the lighter entry (file-commands.ts).
import { ImportError, importRuleFile } from '../authoring/import-rules.js';
import {
  applyCheckConfig,
  type CheckConfig,
  CheckConfigError,
  EMPTY_CHECK_CONFIG,
  exitCodeFor,
  formatReport,
  loadCheckConfig,
  REPORT_FORMATS,
  type ReportFormat,
  summarizeFindings,
} from '../validate/check-report.js';
import { KUBE_PROMETHEUS_SOURCES } from '../validate/metric-catalog-kube-prometheus.js';
import { type MetricSource, type MetricType, PROMETHEUS_SYNTHETIC } from '../validate/metric-catalog.js';
import { lintRuleFiles, parseMetricTypes, parseRuleFileText, type RuleFinding, toReportedFinding } from '../validate/rules-lint.js';
import { resolveTool, ToolNotFoundError, type ToolResult } from '../validate/tools.js';
import { catalogFromOptions, readMetricNames } from './catalog-options.js';

export const RULES_USAGE = `  check rules FILE...   lint Prometheus rule files (pint's offline checks) and run promtool check rules on them
           --catalog NAME          check metric names against a catalog: stack or kube-prometheus;
                                   repeatable (default: no catalog, no unknown-metric check)
           --no-catalog            no catalog (the default; kept for scripts)
           --known-metrics FILE    more known metric names, one a line (# comments)
           --metric-types FILE     metric types from real /metrics output (# TYPE lines): counter or
                                   gauge for promql/rate and promql/counter
           --profile NAME          external (default: severity, runbook_url and a text required)
                                   or stack (P1-P4, service, summary, description, runbook_url)
           --format FORMAT         text (default), json, sarif or github
           --config FILE           checks to turn off per path, levels, rule settings
                                   (default: .obstack-checks.yaml when it exists)
  import-rules FILE.yaml  print (or --out FILE.ts) the file as TypeScript written with the DSL
           --import-from SPEC      module to import the DSL from (default ../src/authoring/index.js)
           --function NAME         name of the exported function (default importedRules)
`;

const CATALOGS: Readonly<Record<string, () => readonly MetricSource[]>> = {
  'kube-prometheus': () => [PROMETHEUS_SYNTHETIC, ...KUBE_PROMETHEUS_SOURCES],
};

/** The default configuration file of the check commands, looked for in the current folder. */
export const DEFAULT_CHECK_CONFIG = '.obstack-checks.yaml';

/** The `--config` file, or the default one when it exists; the empty configuration otherwise. */
export function checkConfigFromOption(path: string | undefined): CheckConfig {
  if (path !== undefined) return loadCheckConfig(path);
  return existsSync(DEFAULT_CHECK_CONFIG) ? loadCheckConfig(DEFAULT_CHECK_CONFIG) : EMPTY_CHECK_CONFIG;
}

/** `promtool check rules FILES…` in the background, so that it runs while the in-process checks do; `stop` ends a run whose answer is not needed. */
function promtoolInBackground(files: readonly string[]): { result: Promise<ToolResult>; stop: () => void } {
  const child = spawn(resolveTool('promtool'), ['check', 'rules', ...files], { stdio: ['ignore', 'pipe', 'pipe'] });
  const result = new Promise<ToolResult>((resolve, reject) => {
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', reject);
    child.on('close', (code) => resolve({ ok: code === 0, output: `${Buffer.concat(out).toString('utf8')}${Buffer.concat(err).toString('utf8')}` }));
  });
  return {
    result,
    stop: () => {
      result.catch(() => undefined);
      child.kill();
    },
  };
}

/** `obstack check rules FILE...`: the findings in the chosen format; 1 when any is at level error. */
export async function checkRules(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: {
      'no-catalog': { type: 'boolean' },
      catalog: { type: 'string', multiple: true },
      'known-metrics': { type: 'string', multiple: true },
      'metric-types': { type: 'string', multiple: true },
      profile: { type: 'string' },
      format: { type: 'string' },
      config: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    allowPositionals: true,
    strict: true,
  });
  if (values.help) {
    process.stdout.write(`usage: obstack check rules FILE... [options]\n\n${RULES_USAGE.slice(0, RULES_USAGE.indexOf('  import-rules'))}`);
    return 0;
  }
  if (positionals.length === 0) {
    process.stderr.write(`obstack check rules needs at least one rule file\n\n${RULES_USAGE}`);
    return 1;
  }
  const profile = values.profile ?? 'external';
  if (profile !== 'external' && profile !== 'stack') {
    process.stderr.write(`--profile must be "external" or "stack", got "${profile}"\n`);
    return 1;
  }
  const format = (values.format ?? 'text') as ReportFormat;
  if (!REPORT_FORMATS.includes(format)) {
    process.stderr.write(`--format must be one of ${REPORT_FORMATS.join(', ')}; got "${values.format}"\n`);
    return 1;
  }
  if (values['no-catalog'] && values.catalog) {
    process.stderr.write('--no-catalog and --catalog contradict each other; give one\n');
    return 1;
  }
  let catalog: ReturnType<typeof catalogFromOptions> | undefined;
  if (values.catalog) {
    catalog = catalogFromOptions(values.catalog, CATALOGS);
    if ('error' in catalog) {
      process.stderr.write(`${catalog.error}\n`);
      return 1;
    }
  }
  let known: string[] = [];
  try {
    known = (values['known-metrics'] ?? []).flatMap(readMetricNames);
  } catch (e) {
    process.stderr.write(`--known-metrics: ${(e as Error).message}\n`);
    return 1;
  }
  const metricTypes = new Map<string, MetricType>();
  for (const file of values['metric-types'] ?? []) {
    try {
      for (const [name, type] of parseMetricTypes(readFileSync(file, 'utf8'))) metricTypes.set(name, type);
    } catch (e) {
      process.stderr.write(`--metric-types ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}\n`);
      return 1;
    }
  }
  let config: CheckConfig;
  try {
    config = checkConfigFromOption(values.config);
  } catch (e) {
    if (!(e instanceof CheckConfigError)) throw e;
    process.stderr.write(`--config ${e.message}\n`);
    return 1;
  }

  const texts = positionals.map((path): { path: string; text?: string; code?: string } => {
    try {
      return { path, text: readFileSync(path, 'utf8') };
    } catch (e) {
      return { path, code: (e as NodeJS.ErrnoException).code ?? String(e) };
    }
  });
  // promtool starts before anything is parsed, on every file read, so that it runs beside all of the in-process
  // checks; in the rare run where some file turns out not to be a rule file, it runs again on the others below.
  const readable = texts.filter((t) => t.text !== undefined).map((t) => t.path);
  let early: ReturnType<typeof promtoolInBackground> | undefined;
  let notFound: ToolNotFoundError | undefined;
  if (readable.length > 0) {
    try {
      early = promtoolInBackground(readable);
    } catch (e) {
      if (!(e instanceof ToolNotFoundError)) throw e;
      notFound = e;
    }
  }
  const findings: RuleFinding[] = [];
  const files: { name: string; content: NonNullable<ReturnType<typeof parseRuleFileText>['file']> }[] = [];
  for (const { path, text, code } of texts) {
    if (text === undefined) {
      findings.push({ file: path, group: '', rule: '', check: 'read', level: 'error', policy: false, message: `cannot be read: ${code}` });
      continue;
    }
    const parsed = parseRuleFileText(path, text);
    findings.push(...parsed.findings);
    if (parsed.file) files.push({ name: path, content: parsed.file });
  }
  // promtool reads what Prometheus reads; files with a structural finding already say why it would refuse them.
  const clean = files.filter((f) => !findings.some((x) => x.file === f.name && x.level === 'error' && x.check === 'rule/structure'));
  let tool: Promise<ToolResult> | undefined;
  if (clean.length > 0) {
    if (notFound) process.stderr.write(`warning: ${notFound.message}; only the in-process checks ran\n`);
    else if (early && readable.length === clean.length && readable.every((f, i) => f === clean[i]!.name)) tool = early.result;
    else tool = promtoolInBackground(clean.map((f) => f.name)).result;
  }
  if (early && tool !== early.result) early.stop();
  findings.push(
    ...lintRuleFiles(files, {
      profile,
      catalog: catalog && 'catalog' in catalog ? catalog.catalog : false,
      knownMetrics: known,
      metricTypes,
      settings: config.rules,
    }),
  );
  // The report is prepared while promtool may still run, and prepared again only if promtool adds a finding.
  const report = (all: readonly RuleFinding[]) => {
    const reported = applyCheckConfig(all.map(toReportedFinding), config);
    let text = formatReport(reported, format, 'rules');
    if (format === 'text') {
      const rules = files.reduce((n, f) => n + f.content.groups.reduce((m, g) => m + (g.rules?.length ?? 0), 0), 0);
      text += `${positionals.length} file(s), ${rules} rule(s): ${summarizeFindings(reported)}\n`;
    }
    return { text, code: exitCodeFor(reported) };
  };
  let written = report(findings);
  const result = await tool;
  if (result && !result.ok) {
    const before = findings.length;
    for (const line of result.output.split('\n').filter((l) => /error|FAILED/i.test(l) && !/^\s*FAILED:?\s*$/.test(l))) {
      const file = clean.find((f) => line.includes(f.name))?.name ?? (clean.length === 1 ? clean[0]!.name : '(promtool)');
      // An expression that does not parse is already a promql/syntax finding of its rule.
      if (findings.some((x) => x.file === file && x.check === 'promql/syntax')) continue;
      findings.push({ file, group: '', rule: '', check: 'promtool', level: 'error', policy: false, message: line.trim() });
    }
    if (findings.length > before) written = report(findings);
  }
  process.stdout.write(written.text);
  return written.code;
}

/** `obstack import-rules FILE.yaml`: the file as TypeScript using the DSL. */
export function importRules(args: string[]): number {
  const { values, positionals } = parseArgs({
    args,
    options: { out: { type: 'string' }, 'import-from': { type: 'string' }, function: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    allowPositionals: true,
    strict: true,
  });
  if (values.help) {
    process.stdout.write(`usage: obstack import-rules FILE.yaml [options]\n\n${RULES_USAGE.slice(RULES_USAGE.indexOf('  import-rules'))}`);
    return 0;
  }
  const [file, ...extra] = positionals;
  if (file === undefined || extra.length > 0) {
    process.stderr.write(`obstack import-rules takes exactly one rule file\n\n${RULES_USAGE}`);
    return 1;
  }
  let ts: string;
  try {
    ts = importRuleFile(readFileSync(file, 'utf8'), {
      source: basename(file),
      ...(values['import-from'] ? { importFrom: values['import-from'] } : {}),
      ...(values.function ? { functionName: values.function } : {}),
    });
  } catch (e) {
    if (e instanceof ImportError || (e as NodeJS.ErrnoException).code === 'ENOENT') {
      process.stderr.write(`${file}: ${(e as Error).message}\n`);
      return 1;
    }
    throw e;
  }
  if (values.out) {
    writeFileSync(values.out, ts);
    process.stdout.write(`wrote ${values.out}\n`);
  } else {
    process.stdout.write(ts);
  }
  return 0;
}
